/*
 * cmd_platform.c - `voxguard manifest ...` (build host: create, sign,
 * verify, show the signed platform manifest) and `voxguard verify-platform`
 * (device: secure initialization, SFR 4.2.5). docs/SECURE_INIT.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "cli/cli.h"
#include "common/util.h"
#include "platform/manifest.h"

#define DEFAULT_MERKLE_ABOVE (64ull << 20) /* images above this: a Merkle root */
#define MERKLE_BLOCK         (1u << 20)

static vg_manifest *load(const char *path)
{
	vg_manifest *m = calloc(1, sizeof *m);
	char why[VG_MANIFEST_WHY_LEN] = "";
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_rc rc;

	if (!m) {
		(void)cli_fail("out of memory");
		return NULL;
	}
	rc = cli_read(path, VG_MANIFEST_MAX_BYTES, &buf, &len);
	if (rc != VG_OK) {
		(void)cli_fail("cannot read %s: %s", path,
			       rc == VG_ERR_TOO_LARGE ? "larger than any manifest" : vg_rc_str(rc));
		free(m);
		return NULL;
	}
	rc = vg_manifest_parse(buf, len, m, why);
	free(buf);
	if (rc != VG_OK) {
		(void)cli_fail("%s: %s", path, why);
		free(m);
		return NULL;
	}
	return m;
}

/* flags: CLI_OUT_REPLACE_OWN when a manifest is signed in place. */
static int save(const vg_manifest *m, const char *path, unsigned flags)
{
	char *txt = NULL;
	size_t len = 0;
	vg_rc rc = vg_manifest_to_json(m, &txt, &len);
	int e = rc == VG_OK ? cli_write_ex(path, txt, len, flags | CLI_OUT_PUBLIC)
			    : cli_fail("cannot write %s: %s", path, vg_rc_str(rc));

	free(txt);
	return e;
}

/* NAME[:VERSION]=PATH */
static int parse_component_arg(const char *arg, char *name, size_t ncap, char *ver, size_t vcap,
			       const char **path)
{
	const char *eq = strchr(arg, '='), *colon;
	size_t nl;

	if (!eq || eq == arg || eq[1] != '/')
		return cli_fail("manifest create: components are NAME[:VERSION]=/PATH, not '%s'",
				arg);
	colon = memchr(arg, ':', (size_t)(eq - arg));
	nl = (size_t)((colon ? colon : eq) - arg);
	if (nl >= ncap || (colon && (size_t)(eq - colon - 1) >= vcap))
		return cli_fail("manifest create: '%s': name or version too long (31 at most)",
				arg);
	memcpy(name, arg, nl);
	name[nl] = '\0';
	if (colon) {
		memcpy(ver, colon + 1, (size_t)(eq - colon - 1));
		ver[eq - colon - 1] = '\0';
	} else {
		ver[0] = '\0';
	}
	*path = eq + 1;
	return 0;
}

static int manifest_create(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out=,version=,security-version=,oem=,model=,hw-rev=,"
				   "signer-key=,root=,merkle-above=";
	struct cli_opts o;
	vg_manifest *m;
	uint8_t signer[32], *der = NULL;
	size_t der_len = 0;
	uint64_t merkle_above = DEFAULT_MERKLE_ABOVE, secver = 0;
	const char *root, *plat[3];
	int e = cli_parse(spec, argc, argv, &o, 1, CLI_MAX_POS - 1);

	(void)cli;
	if (e)
		return e;
	if (!cli_opt(&o, spec, "out") || !cli_opt(&o, spec, "version"))
		return cli_fail("usage: voxguard manifest create --out FILE --version V "
				"[--security-version N] [--oem O --model M --hw-rev R] "
				"[--signer-key PUB.pem] [--root DIR] [--merkle-above BYTES] "
				"NAME[:VERSION]=/PATH ...");
	if (cli_opt(&o, spec, "security-version") &&
	    sscanf(cli_opt(&o, spec, "security-version"), "%" SCNu64, &secver) != 1)
		return cli_fail("manifest create: --security-version takes a number");
	if (cli_opt(&o, spec, "merkle-above") &&
	    sscanf(cli_opt(&o, spec, "merkle-above"), "%" SCNu64, &merkle_above) != 1)
		return cli_fail("manifest create: --merkle-above takes a size in bytes");
	plat[0] = cli_opt(&o, spec, "oem");
	plat[1] = cli_opt(&o, spec, "model");
	plat[2] = cli_opt(&o, spec, "hw-rev");
	if ((plat[0] || plat[1] || plat[2]) && !(plat[0] && plat[1] && plat[2]))
		return cli_fail("manifest create: --oem, --model and --hw-rev go together");
	if (cli_opt(&o, spec, "signer-key")) {
		if ((e = cli_read_pubkey(cli_opt(&o, spec, "signer-key"), &der, &der_len)))
			return e;
		if (vg_manifest_keyid(der, der_len, signer) != VG_OK) {
			OPENSSL_free(der);
			return cli_fail("manifest create: cannot hash the signer key");
		}
		OPENSSL_free(der);
	}
	m = calloc(1, sizeof *m);
	if (!m)
		return cli_fail("out of memory");
	if (!vg_manifest_text_ok(cli_opt(&o, spec, "version"), sizeof m->version) ||
	    (plat[0] && (!vg_manifest_text_ok(plat[0], sizeof m->oem) ||
			 !vg_manifest_text_ok(plat[1], sizeof m->model) ||
			 !vg_manifest_text_ok(plat[2], sizeof m->hw_rev)))) {
		free(m);
		return cli_fail("manifest create: version, oem, model and hw-rev must be short "
				"printable ASCII");
	}
	(void)snprintf(m->version, sizeof m->version, "%s", cli_opt(&o, spec, "version"));
	if (plat[0]) {
		(void)snprintf(m->oem, sizeof m->oem, "%s", plat[0]);
		(void)snprintf(m->model, sizeof m->model, "%s", plat[1]);
		(void)snprintf(m->hw_rev, sizeof m->hw_rev, "%s", plat[2]);
	}
	m->security_version = secver;
	root = cli_opt(&o, spec, "root") ? cli_opt(&o, spec, "root") : "";
	for (size_t i = 0; i < o.n_pos && !e; i++) {
		char name[32], ver[32], src[4096 + VG_MANIFEST_PATH_MAX], why[VG_MANIFEST_WHY_LEN];
		const char *path = NULL;
		uint64_t size = 0;
		vg_rc rc;

		if ((e = parse_component_arg(o.pos[i], name, sizeof name, ver, sizeof ver, &path)))
			break;
		(void)snprintf(src, sizeof src, "%s%s", root, path);
		rc = vg_measure_size(src, &size, why);
		if (rc == VG_OK)
			rc = vg_manifest_add(m, name, ver[0] ? ver : m->version, path, src,
					     size > merkle_above ? MERKLE_BLOCK : 0,
					     cli_opt(&o, spec, "signer-key") ? signer : NULL, why);
		if (rc != VG_OK)
			e = cli_fail("manifest create: %s: %s", name, why[0] ? why : vg_rc_str(rc));
	}
	if (!e && m->n == 0)
		e = cli_fail("manifest create: list at least one component");
	if (!e)
		e = save(m, cli_opt(&o, spec, "out"), 0);
	if (!e)
		(void)printf("manifest %s: platform %s, security version %" PRIu64
			     ", %zu components (unsigned: run `voxguard manifest sign`)\n",
			     cli_opt(&o, spec, "out"), m->version, m->security_version, m->n);
	free(m);
	return e;
}

static int manifest_sign(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "key=,out=";
	struct cli_opts o;
	vg_manifest *m;
	EVP_PKEY *k = NULL;
	FILE *f;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	(void)cli;
	if (e)
		return e;
	if (!cli_opt(&o, spec, "key"))
		return cli_fail("usage: voxguard manifest sign --key RELEASE-KEY.pem [--out FILE] "
				"MANIFEST");
	f = fopen(cli_opt(&o, spec, "key"), "r");
	if (!f)
		return cli_fail("cannot open %s", cli_opt(&o, spec, "key"));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	(void)fclose(f);
	if (!k)
		return cli_fail("%s: not a PEM private key", cli_opt(&o, spec, "key"));
	m = load(o.pos[0]);
	if (!m) {
		EVP_PKEY_free(k);
		return EXIT_ERROR;
	}
	rc = vg_manifest_sign(m, k);
	EVP_PKEY_free(k);
	if (rc != VG_OK)
		e = cli_fail("manifest sign: %s", rc == VG_ERR_UNSUPPORTED
						      ? "the key must be ECDSA P-256 or Ed25519"
						      : vg_rc_str(rc));
	if (!e)
		e = cli_opt(&o, spec, "out") ? save(m, cli_opt(&o, spec, "out"), 0)
					     : save(m, o.pos[0], CLI_OUT_REPLACE_OWN);
	if (!e)
		(void)printf("manifest signed: platform %s, %zu components\n", m->version, m->n);
	free(m);
	return e;
}

static void print_manifest(const vg_manifest *m)
{
	(void)printf("platform %s, security version %" PRIu64, m->version, m->security_version);
	if (m->oem[0])
		(void)printf(", for %s %s rev %s", m->oem, m->model, m->hw_rev);
	(void)printf(", %zu signature%s\n", m->n_sigs, m->n_sigs == 1 ? "" : "s");
}

static int manifest_verify(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "key=,root=";
	struct cli_opts o;
	vg_manifest *m;
	vg_component_result *res;
	uint8_t *der = NULL;
	size_t der_len = 0, failed;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);

	(void)cli;
	if (e)
		return e;
	if (!cli_opt(&o, spec, "key"))
		return cli_fail(
		    "usage: voxguard manifest verify --key RELEASE-PUB.pem [--root DIR] "
		    "MANIFEST");
	if ((e = cli_read_pubkey(cli_opt(&o, spec, "key"), &der, &der_len)))
		return e;
	m = load(o.pos[0]);
	res = calloc(VG_MANIFEST_MAX_COMPONENTS, sizeof *res);
	if (!m || !res) {
		OPENSSL_free(der);
		free(m);
		free(res);
		return EXIT_ERROR;
	}
	print_manifest(m);
	if (vg_manifest_verify(m, der, der_len) != VG_OK) {
		(void)printf("signature: INVALID (not signed by this release key)\n");
		e = EXIT_NEGATIVE;
	} else {
		(void)printf("signature: valid\n");
		failed = vg_manifest_measure(m, cli_opt(&o, spec, "root"), res);
		for (size_t i = 0; i < m->n; i++)
			(void)printf("  %-24s %-8s %s\n", m->c[i].name,
				     res[i].rc == VG_OK ? "ok" : "FAILED",
				     res[i].rc == VG_OK ? m->c[i].path : res[i].why);
		if (failed) {
			(void)printf("platform: NOT genuine (%zu of %zu components failed)\n",
				     failed, m->n);
			e = EXIT_NEGATIVE;
		} else {
			(void)printf("platform: genuine\n");
		}
	}
	OPENSSL_free(der);
	free(m);
	free(res);
	return e;
}

static int manifest_show(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_manifest *m;
	int e = cli_parse("", argc, argv, &o, 1, 1);

	(void)cli;
	if (e)
		return e;
	m = load(o.pos[0]);
	if (!m)
		return EXIT_ERROR;
	print_manifest(m);
	for (size_t i = 0; i < m->n; i++) {
		char d[65], s[17];
		vg_hex_encode(m->c[i].digest, 32, d);
		vg_hex_encode(m->c[i].signer, 8, s);
		(void)printf("  %-24s %-12s %s  %" PRIu64 " bytes  %s %s  signer %s...\n",
			     m->c[i].name, m->c[i].version, m->c[i].path, m->c[i].size,
			     m->c[i].kind == VG_DIGEST_MERKLE ? "merkle" : "sha256", d, s);
	}
	free(m);
	return 0;
}

int cmd_manifest(struct cli *cli, int argc, char **argv)
{
	static const struct cli_cmd table[] = {
	    {"create", manifest_create,
	     "--out FILE --version V [--security-version N] [--oem O --model M --hw-rev R] "
	     "[--signer-key PUB] [--root DIR] NAME[:VERSION]=/PATH ..."},
	    {"sign", manifest_sign, "--key RELEASE-KEY.pem [--out FILE] MANIFEST"},
	    {"verify", manifest_verify, "--key RELEASE-PUB.pem [--root DIR] MANIFEST"},
	    {"show", manifest_show, "MANIFEST"},
	};
	return cli_dispatch(cli, "manifest", table, VG_ARRAY_LEN(table), argc, argv);
}

/* The report as one object (docs/voxguard.1); the exit status is the
 * text's. */
static int report_json(const vg_platform_report *r)
{
	json_t *o = json_object(), *arr = json_array();
	bool ok = o && arr;

	for (size_t i = 0; ok && i < r->n; i++) {
		json_t *m = json_object();
		bool good = r->components[i].rc == VG_OK;
		ok = m && json_array_append_new(arr, m) == 0;
		if (!ok)
			break;
		json_object_set_new(m, "name", cli_json_str_ne(r->components[i].name));
		json_object_set_new(m, "path", cli_json_str_ne(r->components[i].path));
		json_object_set_new(m, "ok", json_boolean(good));
		json_object_set_new(m, "why",
				    good ? json_null() : cli_json_str_ne(r->components[i].why));
	}
	if (ok) {
		json_object_set_new(o, "state", cli_json_str_ne(r->state));
		json_object_set_new(o, "genuine", json_boolean(strcmp(r->state, "normal") == 0));
		json_object_set_new(o, "reason", cli_json_str_ne(r->reason));
		json_object_set_new(o, "version", cli_json_str_ne(r->version));
		json_object_set_new(o, "security_version",
				    r->version[0] ? json_integer((json_int_t)r->security_version)
						  : json_null());
		ok = json_object_set(o, "components", arr) == 0;
	}
	json_decref(arr);
	if (!ok) {
		json_decref(o);
		return cli_fail("verify-platform: out of memory");
	}
	return cli_print_json(o);
}

int cmd_verify_platform(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "json";
	struct cli_opts o;
	vg_platform_report *r;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if ((e = cli_connect(cli, &c)))
		return e;
	r = calloc(1, sizeof *r);
	if (!r) {
		vg_client_close(&c);
		return cli_fail("out of memory");
	}
	rc = vg_platform_verify(c, r);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "verify-platform", rc);
	} else if (cli_flag(&o, spec, "json")) {
		/* An output error (2) is an error whatever the state. */
		e = report_json(r);
		if (!e && strcmp(r->state, "normal") != 0)
			e = EXIT_NEGATIVE;
	} else {
		for (size_t i = 0; i < r->n; i++)
			(void)printf("  %-24s %-8s %s\n", r->components[i].name,
				     r->components[i].rc == VG_OK ? "ok" : "FAILED",
				     r->components[i].rc == VG_OK ? r->components[i].path
								  : r->components[i].why);
		if (strcmp(r->state, "normal") == 0) {
			(void)printf("platform: genuine (normal): platform %s, security version "
				     "%" PRIu64 ", %zu components verified\n",
				     r->version, r->security_version, r->n);
		} else {
			(void)printf("platform: %s: %s\n", r->state, r->reason);
			e = EXIT_NEGATIVE;
		}
	}
	free(r);
	vg_client_close(&c);
	return e;
}
