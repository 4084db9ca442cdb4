/*
 * voice_app - how a voice application (one built on the AVS Device SDK,
 * say) uses voxguard, in one file to read top to bottom. The code snippets
 * of docs/INTEGRATION.md are taken from it, and
 * tests/integration/test_agd_integration_example.sh builds and runs it.
 *
 *   cc -Wall -Wextra -Werror voice_app.c $(pkg-config --cflags --libs voxguard) -o voice_app
 *   ./voice_app [-s SOCKET] [-c CHALLENGE_FILE] [-o SIGNATURE_FILE]
 *
 * Run it as the application's own user, a member of the service's socket
 * group. In order, it:
 *  1. connects to voxguardd and checks the state the service reports;
 *  2. reads its sealed configuration (AlexaClientSDKConfig.json): from
 *     the service, or from the path `voxguard config exec` gave it;
 *  3. reads the device identity;
 *  4. keeps its LWA refresh token in secure storage: stores one if there
 *     is none, and reads it back;
 *  5. signs a challenge (CHALLENGE_FILE, or 32 random bytes) with a
 *     signing key of its own, which stays in the service, and writes the
 *     DER signature to SIGNATURE_FILE.
 * Each failure is one of the states of docs/INTEGRATION.md ("What the
 * service can report"): the program prints "state: NAME: what to do" and
 * exits with that state's code (the VA_* values below). Secrets are wiped
 * as soon as they are no longer needed.
 */
#define _DEFAULT_SOURCE /* explicit_bzero(), faccessat()'s AT_EACCESS */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <voxguard/config.h>
#include <voxguard/voxguard.h>

#define CONFIG_NAME    "AlexaClientSDKConfig.json" /* sealed by an admin for our uid */
#define TOKEN_RECORD   "lwa.refresh_token"         /* a record in our uid's namespace */
#define SIGNING_KEY    "voice-app-signing"         /* a key in our uid's namespace */
#define DEFAULT_SOCKET "/run/voxguard/voxguard.sock"
#define MAX_CHALLENGE  4096

/* Exit codes, one per state (docs/INTEGRATION.md has the same table). */
enum {
	VA_OK = 0,
	VA_ERROR = 1,        /* bad arguments, or an error no state explains */
	VA_UNREACHABLE = 10, /* the service is not running or not reachable */
	VA_PERMISSION = 11,  /* not in the socket group, or refused by the policy */
	VA_UNTRUSTED = 12,   /* the socket is not served by the service user */
	VA_BUSY = 13,        /* a budget of ours is spent (quota exceeded) */
	VA_ROT_TIMEOUT = 14, /* the root of trust (TPM) is not answering */
	VA_RECOVERY = 15,    /* secure start-up failed: platform recovery */
	VA_DEBUG = 16,       /* debug is unlocked: our keys and records are sealed away */
	VA_ROLLBACK = 17,    /* the store is older than the root of trust */
	VA_INTEGRITY = 18,   /* a record, or the whole store, does not verify */
	VA_ADMIN = 19,       /* the operation needs an admin session */
	VA_NO_CONFIG = 20,   /* no configuration is sealed for our uid */
};

static const char *str(const char *s)
{
	return s ? s : "";
}

/* Prints the failed step, the reason and the state; returns its code. */
static int report(const char *step, const char *why, int code, const char *state,
		  const char *advice)
{
	fprintf(stderr, "voice_app: %s: %s\nstate: %s: %s\n", step, why, state, advice);
	return code;
}

/* The state behind a failed call on c (NULL: a failed vg_client_open). */
static int fail(vg_client *c, const char *step, vg_rc rc)
{
	char why[512];
	vg_status st;
	int debug = 0;

	(void)snprintf(why, sizeof why, "%s (%s)", vg_rc_str(rc), vg_client_last_error(c));
	switch (rc) {
	case VG_ERR_UNAVAILABLE:
		return report(step, why, VA_UNREACHABLE, "service unreachable",
			      "retry later with a back-off; the same client reconnects");
	case VG_ERR_DENIED:
		return report(step, why, VA_PERMISSION, "permission denied",
			      "a configuration error: do not retry, fix the unit or the policy");
	case VG_ERR_UNTRUSTED:
		return report(step, why, VA_UNTRUSTED, "untrusted socket",
			      "stop and alert: something else serves the socket");
	case VG_ERR_QUOTA:
		return report(step, why, VA_BUSY, "busy (budget exceeded)",
			      "back off and retry; free records or keys if a size limit is hit");
	case VG_ERR_TIMEOUT:
		return report(step, why, VA_ROT_TIMEOUT, "root of trust not answering",
			      "retry later; the service keeps serving what needs no TPM");
	case VG_ERR_STATE:
		/* Recovery or a debug unlock: the service's status tells which. */
		if (c && vg_status_get(c, &st) == VG_OK) {
			debug = st.debug_unlocked == 1;
			vg_status_free(&st);
		}
		if (debug)
			return report(step, why, VA_DEBUG, "debug unlocked",
				      "keys and records come back when debug is locked again");
		return report(step, why, VA_RECOVERY, "recovery",
			      "secure start-up failed: keys and records are refused until the "
			      "platform is repaired; do not re-create them");
	case VG_ERR_ROLLBACK:
		return report(step, why, VA_ROLLBACK, "rollback detected",
			      "stop, re-create nothing: support's procedure (docs/FIELD.md)");
	case VG_ERR_INTEGRITY:
		return report(step, why, VA_INTEGRITY, "integrity error",
			      "one record: delete it and obtain it again; the whole store: as a "
			      "rollback");
	case VG_ERR_AUTH_REQUIRED:
		return report(step, why, VA_ADMIN, "admin session needed",
			      "an admin operation: it belongs in the admin's provisioning, not in "
			      "the application");
	default:
		return report(step, why, VA_ERROR, "error", "unexpected: see the reason");
	}
}

/* 1. Connect. A failed open says VG_ERR_UNAVAILABLE both when nothing
 * listens and when the socket's permissions keep us out; which one is
 * the kernel's answer to the same access a connect needs. */
static int connect_service(const char *sock_path, vg_client **c)
{
	vg_rc rc = vg_client_open(c, sock_path);

	if (rc == VG_ERR_UNAVAILABLE &&
	    faccessat(AT_FDCWD, sock_path, R_OK | W_OK, AT_EACCESS) != 0 && errno == EACCES)
		return report("connect", vg_client_last_error(NULL), VA_PERMISSION,
			      "permission denied",
			      "join the service's socket group (SupplementaryGroups= in the unit)");
	if (rc != VG_OK)
		return fail(NULL, "connect", rc);
	return VA_OK;
}

/* 1. The state the service reports, before any key or record is used. */
static int check_service(vg_client *c)
{
	vg_status st;
	vg_rc rc = vg_status_get(c, &st);
	int code = VA_OK;

	if (rc != VG_OK)
		return fail(c, "status", rc);
	printf("service: voxguard %s, uid %u, platform %s, secure store %s\n", str(st.version),
	       (unsigned)st.uid, str(st.platform_state), str(st.store_state));
	if (strcmp(str(st.platform_state), "recovery") == 0 ||
	    strcmp(str(st.store_state), "sealed") == 0)
		code = report("status", str(st.platform_why), VA_RECOVERY, "recovery",
			      "secure start-up failed: keys and records are refused");
	else if (strcmp(str(st.store_state), "rollback") == 0)
		code = report("status", "secure store: rollback", VA_ROLLBACK, "rollback detected",
			      "stop: support's procedure (docs/FIELD.md)");
	else if (strcmp(str(st.store_state), "integrity-error") == 0)
		code = report("status", "secure store: integrity-error", VA_INTEGRITY,
			      "integrity error", "stop: support's procedure (docs/FIELD.md)");
	else if (st.debug_unlocked == 1)
		code = report("status", "debug is unlocked", VA_DEBUG, "debug unlocked",
			      "keys and records come back when debug is locked again");
	vg_status_free(&st);
	return code;
}

/* 2. From `voxguard config exec NAME -- voice_app`: a sealed memfd. */
static int read_config_file(const char *path)
{
	uint8_t *buf = malloc(VG_CONFIG_MAX_LEN);
	size_t len = 0;
	ssize_t n = 0;
	int err, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!buf || fd < 0) {
		fprintf(stderr, "voice_app: configuration: %s: %s\n", path, strerror(errno));
		free(buf);
		if (fd >= 0)
			(void)close(fd);
		return VA_ERROR;
	}
	while (len < VG_CONFIG_MAX_LEN && (n = read(fd, buf + len, VG_CONFIG_MAX_LEN - len)) > 0)
		len += (size_t)n;
	err = errno;
	(void)close(fd);
	if (n < 0)
		fprintf(stderr, "voice_app: configuration: %s: %s\n", path, strerror(err));
	else
		printf("configuration: %s, %zu bytes, from voxguard config exec\n", CONFIG_NAME,
		       len);
	/* ... the SDK reads it here (SampleApp -C /proc/self/fd/N) ... */
	explicit_bzero(buf, len);
	free(buf);
	return n < 0 ? VA_ERROR : VA_OK;
}

/* 2. The sealed configuration: only our uid may read it. */
static int read_config(vg_client *c)
{
	const char *path = getenv("VOXGUARD_CONFIG"); /* set by voxguard config exec */
	uint8_t *data = NULL;
	size_t len = 0;
	vg_rc rc;

	if (path && *path)
		return read_config_file(path);
	rc = vg_config_get(c, CONFIG_NAME, &data, &len);
	if (rc == VG_ERR_DENIED)
		return report("configuration", vg_client_last_error(c), VA_NO_CONFIG,
			      "no sealed configuration",
			      "an admin seals it: voxguard config seal FILE --for UNIT");
	if (rc != VG_OK)
		return fail(c, "configuration", rc);
	printf("configuration: %s, %zu bytes, from the service\n", CONFIG_NAME, len);
	/* ... hand data to the SDK's configuration parser here ... */
	vg_config_free(data, len); /* wipes, then frees */
	return VA_OK;
}

/* 3. The device identity (SFR 4.2.2): open to every caller. */
static int show_identity(vg_client *c)
{
	vg_device_identity id;
	char hex[2 * sizeof id.instance_id + 1];
	vg_rc rc = vg_device_identity_get(c, &id);

	if (rc != VG_OK)
		return fail(c, "identity", rc);
	if (id.provisioned == 1) {
		for (size_t i = 0; i < sizeof id.instance_id; i++)
			(void)snprintf(hex + 2 * i, 3, "%02x", id.instance_id[i]);
		printf("device: %s %s rev %s, instance ID %s\n", id.oem, id.model, id.hw_rev, hex);
	} else if (id.provisioned == 0) {
		printf("device: not provisioned (a development device)\n");
	} else {
		printf("device: identity unknown (%s)\n", id.lifecycle_why);
	}
	return VA_OK;
}

/* A stand-in for the token LWA returns when the user links the device. */
static int new_token(char *out, size_t cap)
{
	uint8_t rnd[32];
	size_t off = (size_t)snprintf(out, cap, "Atzr|");

	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd || cap < off + 2 * sizeof rnd + 1)
		return -1;
	for (size_t i = 0; i < sizeof rnd; i++)
		(void)snprintf(out + off + 2 * i, 3, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof rnd);
	return 0;
}

/* 4. The LWA refresh token, in secure storage instead of the SDK's SQLite. */
static int refresh_token(vg_client *c)
{
	uint8_t *token = NULL;
	size_t len = 0;
	char fresh[80];
	vg_rc rc = vg_store_get(c, TOKEN_RECORD, &token, &len);

	if (rc == VG_OK) {
		printf("refresh token: found (%zu bytes)\n", len);
		/* ... the SDK's getRefreshToken() returns it ... */
		vg_free(token, len); /* wipes, then frees */
		return VA_OK;
	}
	if (rc != VG_ERR_NOT_FOUND)
		return fail(c, "refresh token", rc);
	/* None: the first start, or the device was factory reset. A real
	 * application now links the device (code-based linking) and stores
	 * the refresh token LWA returns. */
	if (new_token(fresh, sizeof fresh) != 0)
		return report("refresh token", "getrandom failed", VA_ERROR, "error", "retry");
	rc = vg_store_put(c, TOKEN_RECORD, (const uint8_t *)fresh, strlen(fresh));
	explicit_bzero(fresh, sizeof fresh);
	if (rc != VG_OK)
		return fail(c, "store refresh token", rc);
	rc = vg_store_get(c, TOKEN_RECORD, &token, &len);
	if (rc != VG_OK)
		return fail(c, "read refresh token back", rc);
	printf("refresh token: none stored (first start, or after a factory reset); "
	       "stored a new one and read it back (%zu bytes)\n",
	       len);
	vg_free(token, len);
	return VA_OK;
}

/* 5. A signing key of our own, created once; its private key stays in
 * the service. */
static int sign_challenge(vg_client *c, const uint8_t *msg, size_t msg_len, const char *sig_out)
{
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	FILE *f;
	int written;
	vg_rc rc = vg_key_create(c, SIGNING_KEY, VG_KEY_P256, VG_USE_SIGN | VG_USE_VERIFY);

	if (rc != VG_OK && rc != VG_ERR_EXISTS)
		return fail(c, "key create", rc);
	printf("signing key: %s %s\n", SIGNING_KEY, rc == VG_OK ? "created" : "found");
	rc = vg_key_sign(c, SIGNING_KEY, msg, msg_len, &sig, &sig_len);
	if (rc != VG_OK)
		return fail(c, "sign", rc);
	rc = vg_key_verify(c, SIGNING_KEY, msg, msg_len, sig, sig_len);
	if (rc != VG_OK) {
		vg_free(sig, sig_len);
		return fail(c, "verify", rc);
	}
	if (sig_out) {
		f = fopen(sig_out, "wb");
		written = f && fwrite(sig, 1, sig_len, f) == sig_len;
		if ((f && fclose(f) != 0) || !written) {
			fprintf(stderr, "voice_app: %s: cannot write the signature\n", sig_out);
			vg_free(sig, sig_len);
			return VA_ERROR;
		}
	}
	printf("challenge: %zu bytes signed (%zu-byte DER signature), verified by the service\n",
	       msg_len, sig_len);
	vg_free(sig, sig_len);
	return VA_OK;
}

static int read_challenge(const char *path, uint8_t *buf, size_t *len)
{
	FILE *f;

	if (!path) {
		*len = 32;
		return getrandom(buf, *len, 0) == (ssize_t)*len ? VA_OK : VA_ERROR;
	}
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "voice_app: %s: %s\n", path, strerror(errno));
		return VA_ERROR;
	}
	*len = fread(buf, 1, MAX_CHALLENGE, f);
	(void)fclose(f);
	return VA_OK;
}

int main(int argc, char **argv)
{
	const char *sock_path = NULL, *challenge = NULL, *sig_out = NULL;
	uint8_t msg[MAX_CHALLENGE];
	size_t msg_len = 0;
	vg_client *c = NULL;
	int opt, code;

	while ((opt = getopt(argc, argv, "s:c:o:")) != -1) {
		switch (opt) {
		case 's':
			sock_path = optarg;
			break;
		case 'c':
			challenge = optarg;
			break;
		case 'o':
			sig_out = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-s SOCKET] [-c CHALLENGE_FILE] "
				"[-o SIGNATURE_FILE]\n",
				argv[0]);
			return VA_ERROR;
		}
	}
	/* The socket vg_client_open() would pick for NULL, spelt out so that
	 * connect_service() checks the same path. */
	if (!sock_path)
		sock_path = getenv("VOXGUARD_SOCKET");
	if (!sock_path || !*sock_path)
		sock_path = DEFAULT_SOCKET;
	code = read_challenge(challenge, msg, &msg_len);
	if (code == VA_OK)
		code = connect_service(sock_path, &c);
	if (code == VA_OK)
		code = check_service(c);
	if (code == VA_OK)
		code = read_config(c);
	if (code == VA_OK)
		code = show_identity(c);
	if (code == VA_OK)
		code = refresh_token(c);
	if (code == VA_OK)
		code = sign_challenge(c, msg, msg_len, sig_out);
	vg_client_close(&c); /* also wipes the session token, if any */
	return code;
}
