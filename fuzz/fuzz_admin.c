/*
 * fuzz_admin.c - libFuzzer harness for the admin protocol messages
 * (SFR 4.2.13, 4.3.1; hostile input on the socket): the first byte picks
 * an admin operation (setup, login, logout, passwd, key add/delete/login,
 * challenge, debug challenge/unlock/lock, platform verify), the rest is
 * taken as its argument map, and the whole request goes through the real
 * request manager of a real service (provisioned, admin set up, on a temporary
 * state dir). Every input must get a well-formed reply frame; the service
 * must stay provisioned with its admin and never unlock debug (nobody can
 * forge the OEM signature). Seed corpus: fuzz/corpus/admin/ (argument maps).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/reqmgr.h"
#include "daemon/service.h"
#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t ops[] = {
    VG_OP_ADMIN_SETUP,     VG_OP_ADMIN_LOGIN,      VG_OP_ADMIN_LOGOUT,    VG_OP_ADMIN_PASSWD,
    VG_OP_ADMIN_KEY_ADD,   VG_OP_ADMIN_KEY_DELETE, VG_OP_ADMIN_CHALLENGE, VG_OP_ADMIN_ANSWER,
    VG_OP_DEBUG_CHALLENGE, VG_OP_DEBUG_UNLOCK,     VG_OP_DEBUG_LOCK,      VG_OP_PLATFORM_VERIFY,
    VG_OP_UPDATE_BEGIN,    VG_OP_UPDATE_REPORT,    VG_OP_UPDATE_CONFIRM,  VG_OP_UPDATE_STATUS,
    VG_OP_UPDATE_KEY,      VG_OP_UPDATE_ROOT,
};

static vg_service *svc;
static char dir[512];

static void setup(void)
{
	char err[256], code[VG_SETUP_CODE_LEN + 1], tok[VG_TOKEN_HEX + 1];
	static const char pw[] = "fuzzing passphrase 9 of the day";
	vg_platform p = {.oem = "Acme", .model = "Box", .hw_rev = "1"};
	vg_config cfg;
	uint64_t wait_s;

	/* Under $TMPDIR: scripts/fuzz.sh points it at a directory it removes
	 * (an atexit clean-up would run after OpenSSL's own). */
	(void)snprintf(dir, sizeof dir, "%s/vgfuzzadm.XXXXXX",
		       getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		abort();
	vg_config_defaults(&cfg);
	cfg.admin_pw_cost = 10;
	cfg.rot_sync_ms = 1000;
	/* A/B updates configured, running slot a, so the update operations
	 * get past "not configured". */
	{
		char cmdline[600];
		FILE *f;
		(void)snprintf(cfg.update_slots, sizeof cfg.update_slots, "rootfs %s/a %s/b", dir,
			       dir);
		(void)snprintf(cfg.bootloader_param, sizeof cfg.bootloader_param, "%s/env", dir);
		(void)snprintf(cmdline, sizeof cmdline, "%s/cmdline", dir);
		(void)snprintf(cfg.boot_cmdline, sizeof cfg.boot_cmdline, "%s", cmdline);
		f = fopen(cmdline, "w");
		if (!f || fputs("quiet voxguard.slot=a\n", f) < 0 || fclose(f) != 0)
			abort();
	}
	if (vg_service_open(&svc, dir, &cfg, err, sizeof err) != VG_OK ||
	    vg_identity_provision_device(svc->identity, &p, NULL, code) != VG_OK ||
	    vg_adminsvc_setup(svc->admin, 0, code, (const uint8_t *)pw, sizeof pw - 1, tok, &wait_s,
			      err, sizeof err) != VG_OK) {
		(void)fprintf(stderr, "fuzz_admin: setup failed: %s\n", err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t payload[4 + 4096], *reply = NULL;
	size_t n, reply_len = 0, plen;
	vg_peer peer = {.uid = 0, .gid = 0, .pid = 1, .admin = true};
	bool deferred = false;
	vg_msg m;

	if (!svc)
		setup();
	if (size < 1 || size > 4096)
		return 0;
	payload[0] = 0x83; /* [version, op, args] */
	payload[1] = VG_WIRE_VERSION;
	payload[2] = 0x18;
	payload[3] = ops[data[0] % sizeof ops];
	n = size - 1;
	memcpy(payload + 4, data + 1, n);
	plen = 4 + n;
	if (vg_reqmgr_handle(svc, &peer, payload, plen, NULL, &reply, &reply_len, &deferred, NULL) != VG_OK &&
	    !reply)
		abort();
	/* Every request gets one well-formed reply frame. */
	if (!reply || reply_len < VG_WIRE_HDR_LEN || deferred ||
	    vg_wire_decode(reply + VG_WIRE_HDR_LEN, reply_len - VG_WIRE_HDR_LEN, &m) != VG_OK)
		abort();
	vg_msg_free(&m);
	vg_free(reply, reply_len);
	if (!vg_adminsvc_configured(svc->admin) || !vg_identity_provisioned(svc->identity) ||
	    svc->debug.unlocked)
		abort();
	VG_IGNORE(vg_audit_flush(svc->audit));
	return 0;
}
