/*
 * cmd_admin.c - `voxguard admin ...`, `voxguard factory-reset` and
 * `voxguard debug ...` (SFR 4.2.13, 4.2.12, 4.3.1; AVS 1.2).
 *
 * Passwords come from a file (--password-file, first line) or a prompt on
 * the controlling terminal with echo off; never from argv, where any user
 * could read them in /proc. Session tokens are kept in a 0600 file (see
 * cli_session_where()). Every command connects through cli_connect(),
 * which checks the server is the voxguard service before a password,
 * setup code or token is sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli/cli.h"
#include "common/util.h"

#define PW_MAX 1024

/* Reads a password: the first line of path, or a no-echo tty prompt. */
static int read_password(const char *path, const char *prompt, char *out, size_t cap, size_t *len)
{
	*len = 0;
	if (path) {
		uint8_t *buf = NULL;
		size_t n = 0;
		vg_rc rc = cli_read(path, cap - 1, &buf, &n);
		if (rc != VG_OK)
			return cli_fail("cannot read %s: %s", path, vg_rc_str(rc));
		for (size_t i = 0; i < n; i++)
			if (buf[i] == '\n' || buf[i] == '\r') {
				n = i;
				break;
			}
		memcpy(out, buf, n);
		out[n] = '\0';
		*len = n;
		vg_free(buf, n);
		return 0;
	}
	{
		FILE *tty = fopen("/dev/tty", "r+");
		struct termios old, quiet;
		bool restore = false;
		if (!tty)
			return cli_fail("no terminal to ask for the password: use --password-file");
		/* No stdio buffer keeps a copy of the password. */
		(void)setvbuf(tty, NULL, _IONBF, 0);
		/* Echo off first, then the prompt: what is typed once the
		 * prompt shows is neither echoed nor flushed (as getpass()). */
		if (tcgetattr(fileno(tty), &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
		}
		(void)fputs(prompt, tty);
		if (!fgets(out, (int)cap, tty))
			out[0] = '\0';
		if (restore)
			(void)tcsetattr(fileno(tty), TCSAFLUSH, &old);
		(void)fputc('\n', tty);
		(void)fclose(tty);
		*len = strcspn(out, "\r\n");
		out[*len] = '\0';
		return 0;
	}
}

static int save_session(const char *token)
{
	struct cli_session_loc l;
	char line[VG_SESSION_TOKEN_SIZE + 1];
	int k = cli_session_where(&l, true), e;

	if (k == 1) {
		(void)fprintf(stderr, "voxguard: VOXGUARD_SESSION holds a token: the new one is "
				      "not saved; set VOXGUARD_SESSION to it:\n");
		(void)printf("%s\n", token);
		return 0;
	}
	if (k != 0)
		return cli_fail("cannot save the session: %s", l.why);
	(void)snprintf(line, sizeof line, "%s\n", token);
	e = cli_write_ex(l.path, line, strlen(line), l.wflags);
	vg_wipe(line, sizeof line);
	if (e)
		return e; /* cli_write_ex said why */
	(void)printf("logged in: session saved in %s\n", l.path);
	return 0;
}

static void drop_session(void)
{
	struct cli_session_loc l;

	if (cli_session_where(&l, false) == 0)
		(void)unlink(l.path);
}

/* A password the service's policy refuses is named as such (the rules:
 * docs/ADMIN.md, "Password rules"), not as a key usage policy. */
static int fail_password(vg_client *c, const char *what, vg_rc rc)
{
	const char *why = vg_client_last_error(c);

	if (rc == VG_ERR_POLICY)
		return cli_fail("%s: password refused: %s (see man voxguard, admin setup: at "
				"least 12 characters, not common, not the device's own names; "
				"--password-file F reads it from a file)",
				what, why && *why ? why : "it does not meet the password rules");
	return cli_fail_rc(c, what, rc);
}

static int admin_setup(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "code=,password-file=";
	struct cli_opts o;
	char pw[PW_MAX], pw2[PW_MAX], tok[VG_SESSION_TOKEN_SIZE];
	size_t len = 0, len2 = 0;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if (!cli_opt(&o, spec, "code"))
		return cli_fail(
		    "usage: voxguard admin setup --code SETUP-CODE [--password-file F]");
	e = read_password(cli_opt(&o, spec, "password-file"), "new admin password: ", pw, sizeof pw,
			  &len);
	if (!e && !cli_opt(&o, spec, "password-file")) {
		e = read_password(NULL, "again: ", pw2, sizeof pw2, &len2);
		if (!e && (len != len2 || memcmp(pw, pw2, len) != 0))
			e = cli_fail("admin setup: the two passwords differ");
		vg_wipe(pw2, sizeof pw2);
	}
	if (!e)
		e = cli_connect(cli, &c);
	if (!e) {
		rc = vg_admin_setup(c, cli_opt(&o, spec, "code"), (const uint8_t *)pw, len, tok);
		e = rc == VG_OK ? save_session(tok) : fail_password(c, "admin setup", rc);
	}
	vg_wipe(pw, sizeof pw);
	vg_wipe(tok, sizeof tok);
	vg_client_close(&c);
	return e;
}

static int admin_login(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "password-file=";
	struct cli_opts o;
	char pw[PW_MAX], tok[VG_SESSION_TOKEN_SIZE];
	size_t len = 0;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	e = read_password(cli_opt(&o, spec, "password-file"), "admin password: ", pw, sizeof pw,
			  &len);
	if (!e)
		e = cli_connect(cli, &c);
	if (!e) {
		rc = vg_admin_login(c, (const uint8_t *)pw, len, tok);
		e = rc == VG_OK ? save_session(tok) : cli_fail_rc(c, "admin login", rc);
	}
	vg_wipe(pw, sizeof pw);
	vg_wipe(tok, sizeof tok);
	vg_client_close(&c);
	return e;
}

static int admin_logout(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	int e = cli_parse("", argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_admin_logout(c);
	drop_session();
	vg_client_close(&c);
	if (rc != VG_OK)
		return cli_fail("admin logout: %s", vg_rc_str(rc));
	(void)printf("logged out (the session is ended in the service and its token removed)\n");
	return 0;
}

static int admin_passwd(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "password-file=,new-password-file=";
	struct cli_opts o;
	char pw[PW_MAX], npw[PW_MAX], npw2[PW_MAX], tok[VG_SESSION_TOKEN_SIZE];
	size_t len = 0, nlen = 0, nlen2 = 0;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	e = read_password(cli_opt(&o, spec, "password-file"), "current password: ", pw, sizeof pw,
			  &len);
	if (!e)
		e = read_password(cli_opt(&o, spec, "new-password-file"), "new password: ", npw,
				  sizeof npw, &nlen);
	if (!e && !cli_opt(&o, spec, "new-password-file")) {
		e = read_password(NULL, "again: ", npw2, sizeof npw2, &nlen2);
		if (!e && (nlen != nlen2 || memcmp(npw, npw2, nlen) != 0))
			e = cli_fail("admin passwd: the two passwords differ");
	}
	if (!e)
		e = cli_connect(cli, &c);
	if (!e) {
		rc = vg_admin_passwd(c, (const uint8_t *)pw, len, (const uint8_t *)npw, nlen, tok);
		e = rc == VG_OK ? save_session(tok) : fail_password(c, "admin passwd", rc);
	}
	vg_wipe(pw, sizeof pw);
	vg_wipe(npw, sizeof npw);
	vg_wipe(npw2, sizeof npw2);
	vg_wipe(tok, sizeof tok);
	vg_client_close(&c);
	return e;
}

/* Signs msg with a private key from a PEM file (P-256: DER ECDSA over
 * SHA-256; Ed25519: pure), as a companion app would. */
static int sign_with(const char *keyfile, const uint8_t *msg, size_t len, uint8_t *sig,
		     size_t *sig_len)
{
	FILE *f = fopen(keyfile, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = 0;

	if (f)
		(void)fclose(f);
	if (k && c) {
		const char *md = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : "SHA256";
		ok = EVP_DigestSignInit_ex(c, NULL, md, NULL, NULL, k, NULL) == 1 &&
		     EVP_DigestSign(c, sig, sig_len, msg, len) == 1;
	}
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return ok ? 0 : cli_fail("cannot sign with the private key in %s", keyfile);
}

static int admin_key(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "in=,key=";
	struct cli_opts o;
	vg_client *c = NULL;
	int e;
	vg_rc rc = VG_OK;

	if (argc >= 1 && strcmp(argv[0], "--help") == 0)
		cli_help_exit();
	if (argc < 1)
		return cli_fail("usage: voxguard admin key add NAME --in PUB.pem | delete NAME | "
				"login NAME --key PRIV.pem");
	e = cli_parse(spec, argc - 1, argv + 1, &o, 1, 1);
	if (e || (e = cli_connect(cli, &c)))
		return e;
	if (strcmp(argv[0], "add") == 0) {
		uint8_t *pub = NULL;
		size_t len = 0;
		if (!cli_opt(&o, spec, "in"))
			e = cli_fail("admin key add: --in PUB.pem is required");
		else if ((rc = cli_read(cli_opt(&o, spec, "in"), 8192, &pub, &len)) != VG_OK)
			e = cli_fail("cannot read %s: %s", cli_opt(&o, spec, "in"), vg_rc_str(rc));
		else if ((rc = vg_admin_key_add(c, o.pos[0], pub, len)) != VG_OK)
			e = cli_fail_rc(c, "admin key add", rc);
		free(pub);
	} else if (strcmp(argv[0], "delete") == 0) {
		if ((rc = vg_admin_key_delete(c, o.pos[0])) != VG_OK)
			e = cli_fail_rc(c, "admin key delete", rc);
	} else if (strcmp(argv[0], "login") == 0) {
		uint8_t nonce[32], msg[VG_ADMIN_CHALLENGE_MSG_LEN], sig[256];
		size_t sig_len = sizeof sig;
		char tok[VG_SESSION_TOKEN_SIZE];
		if (!cli_opt(&o, spec, "key"))
			e = cli_fail("admin key login: --key PRIV.pem is required");
		else if ((rc = vg_admin_challenge(c, nonce)) != VG_OK)
			e = cli_fail_rc(c, "admin key login", rc);
		if (!e) {
			vg_admin_challenge_message(nonce, (uint32_t)getuid(), msg);
			e = sign_with(cli_opt(&o, spec, "key"), msg, sizeof msg, sig, &sig_len);
		}
		if (!e) {
			rc = vg_admin_answer(c, o.pos[0], nonce, sig, sig_len, tok);
			e = rc == VG_OK ? save_session(tok) : cli_fail_rc(c, "admin key login", rc);
		}
		vg_wipe(tok, sizeof tok);
	} else {
		e = cli_fail("admin key: unknown subcommand '%s'", argv[0]);
	}
	vg_client_close(&c);
	return e;
}

int cmd_admin(struct cli *cli, int argc, char **argv)
{
	static const struct cli_cmd sub[] = {
	    {"setup", admin_setup, "--code CODE [--password-file F]: the first admin credential"},
	    {"login", admin_login, "[--password-file F]: start an admin session"},
	    {"logout", admin_logout, "end the admin session"},
	    {"passwd", admin_passwd,
	     "[--password-file F --new-password-file F]: change the admin password"},
	    {"key", admin_key,
	     "add NAME --in PUB.pem | delete NAME | login NAME --key PRIV.pem: key-based admin "
	     "authentication"},
	};

	return cli_dispatch(cli, "admin", sub, VG_ARRAY_LEN(sub), argc, argv);
}

int cmd_factory_reset(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "yes";
	struct cli_opts o;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if (!cli_flag(&o, spec, "yes")) {
		char answer[16] = "";
		FILE *tty = fopen("/dev/tty", "r+");
		if (!tty)
			return cli_fail("factory-reset: no terminal to confirm on: use --yes");
		(void)fputs("This erases every user record, user key and admin credential on "
			    "this device.\nType 'erase' to continue: ",
			    tty);
		(void)fflush(tty);
		if (!fgets(answer, sizeof answer, tty))
			answer[0] = '\0';
		(void)fclose(tty);
		if (strcmp(answer, "erase\n") != 0)
			return cli_fail("factory-reset: not confirmed; nothing was changed");
	}
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_device_factory_reset(c);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "factory-reset", rc);
	} else {
		drop_session();
		(void)printf("factory reset done: user data erased; set up the admin again with "
			     "the setup code\n");
	}
	vg_client_close(&c);
	return e;
}

static int debug_challenge(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out=";
	struct cli_opts o;
	uint8_t *msg = NULL;
	size_t len = 0;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if (!cli_opt(&o, spec, "out"))
		return cli_fail("usage: voxguard debug challenge --out FILE (then sign FILE with "
				"the OEM debug key)");
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_device_debug_challenge(c, &msg, &len);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "debug challenge", rc);
	} else {
		e = cli_write(cli_opt(&o, spec, "out"), msg, len);
	}
	vg_free(msg, len);
	vg_client_close(&c);
	return e;
}

static int debug_unlock(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "sig=";
	struct cli_opts o;
	uint8_t *sig = NULL;
	size_t len = 0;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if (!cli_opt(&o, spec, "sig"))
		return cli_fail("usage: voxguard debug unlock --sig FILE");
	rc = cli_read(cli_opt(&o, spec, "sig"), 256, &sig, &len);
	if (rc != VG_OK)
		return cli_fail("cannot read %s: %s", cli_opt(&o, spec, "sig"), vg_rc_str(rc));
	if (!(e = cli_connect(cli, &c))) {
		rc = vg_device_debug_unlock(c, sig, len);
		if (rc != VG_OK)
			e = cli_fail_rc(c, "debug unlock", rc);
		else
			(void)printf("debug unlocked: applications' data is sealed away until "
				     "`voxguard debug lock` or a restart\n");
	}
	free(sig);
	vg_client_close(&c);
	return e;
}

static int debug_lock(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	int e = cli_parse("", argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_device_debug_lock(c);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "debug lock", rc);
	vg_client_close(&c);
	return e;
}

int cmd_debug(struct cli *cli, int argc, char **argv)
{
	static const struct cli_cmd sub[] = {
	    {"challenge", debug_challenge, "--out FILE: the bytes the OEM signs"},
	    {"unlock", debug_unlock, "--sig FILE: unlock with the OEM's signature"},
	    {"lock", debug_lock, "lock debug again"},
	};

	return cli_dispatch(cli, "debug", sub, VG_ARRAY_LEN(sub), argc, argv);
}
