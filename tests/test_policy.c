/*
 * test_policy.c - who may do what (src/daemon/policy.h).
 *
 * SFR 4.2.10 isolation: every uid's keys and records are usable by that uid
 * only (admins included), admins administer other namespaces and read the
 * audit log (SFR 4.2.9), the service's own keys are never usable by a
 * client, and anything unknown is denied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <grp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/policy.h"
#include "helpers.h"

#define ALICE 1000u
#define BOB   1001u

static const vg_op use_ops[] = {
    VG_OP_KEY_SIGN, VG_OP_KEY_VERIFY, VG_OP_KEY_ENCRYPT, VG_OP_KEY_DECRYPT,
    VG_OP_KEY_MAC,  VG_OP_STORE_GET,  VG_OP_STORE_PUT,   VG_OP_KEY_CREATE,
};
static const vg_op admin_ops[] = {
    VG_OP_KEY_LIST,   VG_OP_KEY_INFO,   VG_OP_KEY_PUBLIC,
    VG_OP_KEY_DELETE, VG_OP_STORE_LIST, VG_OP_STORE_DELETE,
};
static const vg_op log_ops[] = {VG_OP_LOG_EXPORT, VG_OP_LOG_SEED};

static const vg_policy pol = {.have_admin_gid = true, .admin_gid = 990};

static vg_peer peer(uint32_t uid, bool admin)
{
	vg_peer p = {.uid = uid, .gid = uid, .pid = 4242, .admin = admin};
	return p;
}

static vg_rc check(vg_peer p, vg_op op, uint32_t owner)
{
	return vg_policy_check(&pol, &p, op, owner);
}

/* SFR 4.2.10: a uid may do everything in its own namespace (use and
 * administer), admin or not. */
static void test_policy_owner_uses_own_namespace(void **state)
{
	(void)state;
	for (int a = 0; a < 2; a++) {
		for (size_t i = 0; i < VG_ARRAY_LEN(use_ops); i++)
			assert_int_equal(check(peer(ALICE, a), use_ops[i], ALICE), VG_OK);
		for (size_t i = 0; i < VG_ARRAY_LEN(admin_ops); i++)
			assert_int_equal(check(peer(ALICE, a), admin_ops[i], ALICE), VG_OK);
	}
	/* root is a uid like any other for its own namespace. */
	for (size_t i = 0; i < VG_ARRAY_LEN(use_ops); i++)
		assert_int_equal(check(peer(0, true), use_ops[i], 0), VG_OK);
}

/* SFR 4.2.10: another uid is denied every use operation (sign, verify,
 * encrypt, decrypt, mac, get, put, create) in alice's namespace: an
 * ordinary user, an admin, and root alike. */
static void test_policy_other_uid_denied_every_use_op(void **state)
{
	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(use_ops); i++) {
		assert_int_equal(check(peer(BOB, false), use_ops[i], ALICE), VG_ERR_DENIED);
		assert_int_equal(check(peer(BOB, true), use_ops[i], ALICE), VG_ERR_DENIED);
		assert_int_equal(check(peer(0, true), use_ops[i], ALICE), VG_ERR_DENIED);
		/* Nor the other way round, nor a neighbouring uid. */
		assert_int_equal(check(peer(ALICE, true), use_ops[i], BOB), VG_ERR_DENIED);
		assert_int_equal(check(peer(ALICE, false), use_ops[i], 0), VG_ERR_DENIED);
	}
}

/* SFR 4.2.10: admins may list, inspect, read public keys and delete in
 * other uids' namespaces; ordinary users may not. */
static void test_policy_admin_administers_other_namespaces(void **state)
{
	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(admin_ops); i++) {
		assert_int_equal(check(peer(BOB, true), admin_ops[i], ALICE), VG_OK);
		assert_int_equal(check(peer(0, true), admin_ops[i], ALICE), VG_OK);
		assert_int_equal(check(peer(BOB, false), admin_ops[i], ALICE), VG_ERR_DENIED);
		assert_int_equal(check(peer(ALICE, false), admin_ops[i], 0), VG_ERR_DENIED);
	}
}

/* SFR 4.2.10/4.2.11: nobody uses the service's keys (VG_OWNER_SERVICE):
 * not a user, not an admin, not root, not even a peer whose uid equals
 * the marker; admins may list them and read their public halves, never
 * delete them or touch the service's records. */
static void test_policy_service_namespace_never_used(void **state)
{
	static const vg_peer peers[] = {
	    {.uid = ALICE, .admin = false},
	    {.uid = ALICE, .admin = true},
	    {.uid = 0, .admin = true},
	    {.uid = VG_OWNER_SERVICE, .admin = false},
	    {.uid = VG_OWNER_SERVICE, .admin = true},
	};

	(void)state;
	for (size_t p = 0; p < VG_ARRAY_LEN(peers); p++)
		for (size_t i = 0; i < VG_ARRAY_LEN(use_ops); i++)
			assert_int_equal(check(peers[p], use_ops[i], VG_OWNER_SERVICE),
					 VG_ERR_DENIED);
	for (size_t p = 0; p < VG_ARRAY_LEN(peers); p++) {
		vg_rc want_read = peers[p].admin ? VG_OK : VG_ERR_DENIED;
		assert_int_equal(check(peers[p], VG_OP_KEY_LIST, VG_OWNER_SERVICE), want_read);
		assert_int_equal(check(peers[p], VG_OP_KEY_INFO, VG_OWNER_SERVICE), want_read);
		assert_int_equal(check(peers[p], VG_OP_KEY_PUBLIC, VG_OWNER_SERVICE), want_read);
		assert_int_equal(check(peers[p], VG_OP_KEY_DELETE, VG_OWNER_SERVICE),
				 VG_ERR_DENIED);
		assert_int_equal(check(peers[p], VG_OP_STORE_LIST, VG_OWNER_SERVICE),
				 VG_ERR_DENIED);
		assert_int_equal(check(peers[p], VG_OP_STORE_DELETE, VG_OWNER_SERVICE),
				 VG_ERR_DENIED);
	}
}

/* SFR 4.2.9: exporting the audit log and taking its seed are admin-only,
 * whatever namespace the request names. */
static void test_policy_log_export_admin_only(void **state)
{
	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(log_ops); i++) {
		assert_int_equal(check(peer(ALICE, false), log_ops[i], ALICE), VG_ERR_DENIED);
		assert_int_equal(check(peer(ALICE, false), log_ops[i], VG_OWNER_SERVICE),
				 VG_ERR_DENIED);
		assert_int_equal(check(peer(ALICE, true), log_ops[i], ALICE), VG_OK);
		assert_int_equal(check(peer(0, true), log_ops[i], BOB), VG_OK);
	}
}

/* SFR 4.2.10: status is open to everyone. */
static void test_policy_status_open_to_all(void **state)
{
	(void)state;
	assert_int_equal(check(peer(ALICE, false), VG_OP_STATUS, ALICE), VG_OK);
	assert_int_equal(check(peer(BOB, false), VG_OP_STATUS, ALICE), VG_OK);
	assert_int_equal(check(peer(BOB, false), VG_OP_STATUS, VG_OWNER_SERVICE), VG_OK);
}

/* SFR 4.2.10: an unknown operation is denied to everyone, root included
 * (default deny). */
static void test_policy_unknown_op_denied(void **state)
{
	static const uint32_t unknown[] = {0,  2,  9,  20,   29,         34,
					   49, 52, 99, 1000, 0x7fffffff, 0xffffffff};

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(unknown); i++) {
		vg_op op = (vg_op)unknown[i];
		assert_int_equal(check(peer(ALICE, false), op, ALICE), VG_ERR_DENIED);
		assert_int_equal(check(peer(ALICE, true), op, ALICE), VG_ERR_DENIED);
		assert_int_equal(check(peer(0, true), op, 0), VG_ERR_DENIED);
	}
}

/* SFR 4.2.9: the role recorded in audit records. */
static void test_policy_role(void **state)
{
	vg_peer u = peer(ALICE, false), a = peer(ALICE, true);

	(void)state;
	assert_string_equal(vg_policy_role(&u), "user");
	assert_string_equal(vg_policy_role(&a), "admin");
}

/* SFR 4.2.10: an admin group that does not exist is a configuration error
 * (fail closed); none configured means no admin group. */
static void test_policy_init_admin_group(void **state)
{
	vg_config cfg;
	vg_policy p;
	char err[128] = "";
	struct group *g;

	(void)state;
	vg_config_defaults(&cfg);
	assert_int_equal(vg_policy_init(&p, &cfg, err, sizeof err), VG_OK);
	assert_false(p.have_admin_gid);
	strcpy(cfg.admin_group, "no-such-group-vg-test");
	assert_int_equal(vg_policy_init(&p, &cfg, err, sizeof err), VG_ERR_INVALID);
	assert_non_null(strstr(err, "no-such-group-vg-test"));
	g = getgrgid(getegid());
	if (g) {
		(void)snprintf(cfg.admin_group, sizeof cfg.admin_group, "%s", g->gr_name);
		assert_int_equal(vg_policy_init(&p, &cfg, err, sizeof err), VG_OK);
		assert_true(p.have_admin_gid);
		assert_int_equal(p.admin_gid, getegid());
	}
}

/* SFR 4.2.10: the peer's identity comes from the kernel (SO_PEERCRED):
 * uid, gid and pid of the other end; admin if root or in the admin group. */
static void test_policy_peer_from_socket(void **state)
{
	int sv[2];
	vg_policy p = {0};
	vg_peer pr;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(vg_policy_peer(&p, sv[0], &pr), VG_OK);
	assert_int_equal(pr.uid, geteuid());
	assert_int_equal(pr.gid, getegid());
	assert_int_equal(pr.pid, getpid());
	assert_int_equal(pr.admin, geteuid() == 0);

	p.have_admin_gid = true;
	p.admin_gid = getegid();
	assert_int_equal(vg_policy_peer(&p, sv[0], &pr), VG_OK);
	assert_true(pr.admin);

	close(sv[0]);
	close(sv[1]);
	/* Not a socket: an error, and no identity. */
	assert_int_equal(vg_policy_peer(&p, sv[0], &pr), VG_ERR_IO);
	assert_false(pr.admin);
	assert_int_equal(pr.uid, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy_owner_uses_own_namespace),
	    cmocka_unit_test(test_policy_other_uid_denied_every_use_op),
	    cmocka_unit_test(test_policy_admin_administers_other_namespaces),
	    cmocka_unit_test(test_policy_service_namespace_never_used),
	    cmocka_unit_test(test_policy_log_export_admin_only),
	    cmocka_unit_test(test_policy_status_open_to_all),
	    cmocka_unit_test(test_policy_unknown_op_denied),
	    cmocka_unit_test(test_policy_role),
	    cmocka_unit_test(test_policy_init_admin_group),
	    cmocka_unit_test(test_policy_peer_from_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
