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

#include "daemon/ops.h"
#include "daemon/policy.h"
#include "helpers.h"
#include "identity/identity.h"
#include "keystore/keystore.h"

#define ALICE 1000u
#define BOB   1001u

static const vg_op use_ops[] = {
    VG_OP_KEY_SIGN, VG_OP_KEY_VERIFY, VG_OP_KEY_ENCRYPT, VG_OP_KEY_DECRYPT,
    VG_OP_KEY_MAC,  VG_OP_STORE_GET,  VG_OP_STORE_PUT,   VG_OP_KEY_CREATE,
    /* SFR 4.2.8 note 7: a stream key is decapsulated with the caller's own
     * key only, never another uid's (not even an admin's use) */
    VG_OP_KEY_DECAP, VG_OP_KEY_AUTH_ENCAP,
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
	static const uint32_t unknown[] = {0,  2,  9,  23,   29,         34,
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

/* SFR 4.2.2, 4.2.7: identity_tls_group: its members may sign digests with
 * the device identity key and read its public key and info, and nothing
 * else of the service's; a caller outside it (admin or not) may not sign
 * with it, and neither may a member with any other service key or
 * operation. The group must exist. */
static void test_policy_identity_tls_group(void **state)
{
	static const vg_op granted[] = {VG_OP_KEY_SIGN_DIGEST, VG_OP_KEY_PUBLIC, VG_OP_KEY_INFO};
	static const vg_op others[] = {VG_OP_KEY_SIGN,   VG_OP_KEY_DELETE,  VG_OP_KEY_VERIFY,
				       VG_OP_KEY_CREATE, VG_OP_KEY_ENCRYPT, VG_OP_KEY_MAC,
				       VG_OP_STORE_GET,  VG_OP_KEY_LIST,    VG_OP_KEY_DECAP,
				       VG_OP_KEY_AUTH_ENCAP};
	vg_peer in = peer(ALICE, false), out = peer(BOB, false), admin = peer(0, true);
	vg_config cfg;
	vg_policy p;
	char err[128] = "";
	struct group *g;

	(void)state;
	in.tls_identity = true;
	for (size_t i = 0; i < VG_ARRAY_LEN(granted); i++) {
		assert_true(vg_policy_identity_tls(&pol, &in, granted[i], VG_OWNER_SERVICE,
						   VG_IDENTITY_KEY_NAME));
		assert_false(vg_policy_identity_tls(&pol, &out, granted[i], VG_OWNER_SERVICE,
						    VG_IDENTITY_KEY_NAME));
		assert_false(vg_policy_identity_tls(&pol, &admin, granted[i], VG_OWNER_SERVICE,
						    VG_IDENTITY_KEY_NAME));
		/* Another service key, or the name in the member's own namespace. */
		assert_false(
		    vg_policy_identity_tls(&pol, &in, granted[i], VG_OWNER_SERVICE, "attestation"));
		assert_false(
		    vg_policy_identity_tls(&pol, &in, granted[i], ALICE, VG_IDENTITY_KEY_NAME));
	}
	for (size_t i = 0; i < VG_ARRAY_LEN(others); i++)
		assert_false(vg_policy_identity_tls(&pol, &in, others[i], VG_OWNER_SERVICE,
						    VG_IDENTITY_KEY_NAME));
	/* Without the grant, the table says no to signing with it. */
	assert_int_equal(check(in, VG_OP_KEY_SIGN_DIGEST, VG_OWNER_SERVICE), VG_ERR_DENIED);
	assert_int_equal(check(admin, VG_OP_KEY_SIGN_DIGEST, VG_OWNER_SERVICE), VG_ERR_DENIED);
	assert_int_equal(check(in, VG_OP_KEY_SIGN_DIGEST, ALICE), VG_OK);

	vg_config_defaults(&cfg);
	assert_int_equal(vg_policy_init(&p, &cfg, err, sizeof err), VG_OK);
	assert_false(p.have_identity_gid);
	strcpy(cfg.identity_tls_group, "no-such-group-vg-test");
	assert_int_equal(vg_policy_init(&p, &cfg, err, sizeof err), VG_ERR_INVALID);
	assert_non_null(strstr(err, "no-such-group-vg-test"));
	g = getgrgid(getegid());
	if (g) {
		(void)snprintf(cfg.identity_tls_group, sizeof cfg.identity_tls_group, "%s",
			       g->gr_name);
		assert_int_equal(vg_policy_init(&p, &cfg, err, sizeof err), VG_OK);
		assert_true(p.have_identity_gid);
		assert_int_equal(p.identity_gid, getegid());
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

/* The one table of operations (ops.h): every row is complete and unique,
 * and every operation code the service knows has exactly one row. */
static void test_policy_table_rows_complete(void **state)
{
	size_t n;
	const vg_op_def *t = vg_op_table(&n);

	(void)state;
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].name);
		assert_non_null(t[i].handler);
		assert_true(t[i].access >= VG_ACCESS_ANY && t[i].access <= VG_ACCESS_MANAGE);
		assert_ptr_equal(vg_op_find(t[i].op), &t[i]);
		for (size_t j = i + 1; j < n; j++) {
			assert_int_not_equal(t[i].op, t[j].op);
			assert_string_not_equal(t[i].name, t[j].name);
		}
		/* A session is only ever asked of the admin role or of
		 * someone administering another's namespace. */
		if ((t[i].flags & VG_OPF_SESSION) || t[i].session_if)
			assert_int_equal(t[i].access, VG_ACCESS_ADMIN);
		if (t[i].flags & (VG_OPF_SESSION_OTHER | VG_OPF_NOT_SERVICE))
			assert_int_equal(t[i].access, VG_ACCESS_MANAGE);
	}
	/* Codes between rows (the 78 and 79 an attacker tried) have none. */
	for (uint64_t op = 0; op < 70000; op++) {
		bool known = false;
		for (size_t i = 0; i < n; i++)
			known = known || t[i].op == op;
		assert_true(known == (vg_op_find(op) != NULL));
	}
	assert_null(vg_op_find(78));
	assert_null(vg_op_find(79));
	assert_null(vg_op_find(UINT64_C(1) << 32 | VG_OP_STATUS));
}

/* SFR 4.2.10: the table decides: every row's access class gives the
 * answer vg_policy_check gives, for users, admins and root. */
static void test_policy_table_drives_the_check(void **state)
{
	size_t n;
	const vg_op_def *t = vg_op_table(&n);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		vg_rc user_own = check(peer(ALICE, false), t[i].op, ALICE);
		vg_rc user_other = check(peer(ALICE, false), t[i].op, BOB);
		vg_rc admin_other = check(peer(ALICE, true), t[i].op, BOB);
		switch (t[i].access) {
		case VG_ACCESS_ANY:
			assert_int_equal(user_own, VG_OK);
			assert_int_equal(user_other, VG_OK);
			break;
		case VG_ACCESS_ADMIN:
			assert_int_equal(user_own, VG_ERR_DENIED);
			assert_int_equal(admin_other, VG_OK);
			assert_int_equal(check(peer(0, true), t[i].op, 0), VG_OK);
			break;
		case VG_ACCESS_OWN:
			assert_int_equal(user_own, VG_OK);
			assert_int_equal(user_other, VG_ERR_DENIED);
			assert_int_equal(admin_other, VG_ERR_DENIED);
			break;
		case VG_ACCESS_MANAGE:
			assert_int_equal(user_own, VG_OK);
			assert_int_equal(user_other, VG_ERR_DENIED);
			assert_int_equal(admin_other, VG_OK);
			break;
		}
	}
}

/* SFR 4.2.13: everything that changes what the device trusts needs an
 * authenticated admin session once an admin exists: the TUF root, the
 * fleet update key, admin keys and passwords, provisioning (the release
 * key), the identity certificate, debug unlock, factory reset, and the
 * audit log's export and seed. */
static void test_policy_trust_changes_need_a_session(void **state)
{
	static const vg_op with_session[] = {
	    VG_OP_PROVISION,     VG_OP_IDENTITY_CSR,    VG_OP_IDENTITY_SET_CERT,
	    VG_OP_ADMIN_PASSWD,  VG_OP_ADMIN_KEY_ADD,   VG_OP_ADMIN_KEY_DELETE,
	    VG_OP_FACTORY_RESET, VG_OP_DEBUG_CHALLENGE, VG_OP_DEBUG_UNLOCK,
	    VG_OP_DEBUG_LOCK,    VG_OP_LOG_EXPORT,      VG_OP_LOG_SEED,
	};
	static const vg_op when_changing[] = {VG_OP_UPDATE_ROOT, VG_OP_UPDATE_KEY};

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(with_session); i++)
		assert_true(vg_op_find(with_session[i])->flags & VG_OPF_SESSION);
	for (size_t i = 0; i < VG_ARRAY_LEN(when_changing); i++)
		assert_non_null(vg_op_find(when_changing[i])->session_if);
}

/* SFR 4.2.4 durability: only a store put is group-committed; anything
 * else makes the pending batch durable before it runs. */
static void test_policy_only_put_is_batched(void **state)
{
	size_t n;
	const vg_op_def *t = vg_op_table(&n);

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(!!(t[i].flags & VG_OPF_BATCH), t[i].op == VG_OP_STORE_PUT);
}

/* SFR 4.2.5: in recovery nothing touches an application's keys or records. */
static void test_policy_recovery_serves_no_app_data(void **state)
{
	size_t n;
	const vg_op_def *t = vg_op_table(&n);

	(void)state;
	for (size_t i = 0; i < n; i++)
		if (t[i].access == VG_ACCESS_OWN || t[i].access == VG_ACCESS_MANAGE)
			assert_false(t[i].flags & VG_OPF_RECOVERY);
	assert_true(vg_op_find(VG_OP_FACTORY_RESET)->flags & VG_OPF_RECOVERY);
	assert_true(vg_op_find(VG_OP_STATUS)->flags & VG_OPF_RECOVERY);
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
	    cmocka_unit_test(test_policy_identity_tls_group),
	    cmocka_unit_test(test_policy_table_rows_complete),
	    cmocka_unit_test(test_policy_table_drives_the_check),
	    cmocka_unit_test(test_policy_trust_changes_need_a_session),
	    cmocka_unit_test(test_policy_only_put_is_batched),
	    cmocka_unit_test(test_policy_recovery_serves_no_app_data),
	    cmocka_unit_test(test_policy_peer_from_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
