/* cmd_key.c - `voxguard key ...`: the keystore (SFR 4.2.11) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"
#include "keystore/keystore.h"
#include "provider/provider.h"

static uint32_t parse_usage(const char *s, bool *ok)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} bits[] = {{"sign", VG_USE_SIGN},
		    {"verify", VG_USE_VERIFY},
		    {"encrypt", VG_USE_ENCRYPT},
		    {"decrypt", VG_USE_DECRYPT},
		    {"mac", VG_USE_MAC},
		    {"derive", VG_USE_DERIVE}};
	uint32_t u = 0;

	*ok = true;
	while (s && *s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		bool found = false;
		for (size_t i = 0; i < VG_ARRAY_LEN(bits); i++) {
			if (strlen(bits[i].name) == len && strncmp(s, bits[i].name, len) == 0) {
				u |= bits[i].bit;
				found = true;
			}
		}
		if (!found)
			*ok = false;
		s += len + (end ? 1 : 0);
	}
	return u;
}

static void usage_str(uint32_t u, char *out, size_t cap)
{
	(void)snprintf(out, cap, "%s%s%s%s%s%s", u & VG_USE_SIGN ? "sign," : "",
		       u & VG_USE_VERIFY ? "verify," : "", u & VG_USE_ENCRYPT ? "encrypt," : "",
		       u & VG_USE_DECRYPT ? "decrypt," : "", u & VG_USE_MAC ? "mac," : "",
		       u & VG_USE_DERIVE ? "derive," : "");
	if (*out)
		out[strlen(out) - 1] = '\0';
}

static int key_create(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "type=,usage=";
	struct cli_opts o;
	vg_client *c = NULL;
	vg_key_type type;
	uint32_t usage = 0;
	bool ok = true;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	type = vg_key_type_from_str(cli_opt(&o, spec, "type"));
	if (!type)
		return cli_fail(
		    "key create: --type p256|p384|ed25519|x25519|aes256|hmac256 is required");
	if (cli_opt(&o, spec, "usage"))
		usage = parse_usage(cli_opt(&o, spec, "usage"), &ok);
	if (!ok || (cli_opt(&o, spec, "usage") && !usage))
		return cli_fail("key create: --usage takes sign,verify,encrypt,decrypt,mac,derive");
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_key_create(c, o.pos[0], type, usage);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "key create", rc);
	else
		(void)printf("created key %s (%s, usage %s)\n", o.pos[0], vg_key_type_str(type),
			     cli_opt(&o, spec, "usage") ? cli_opt(&o, spec, "usage")
							: "the type's default");
	vg_client_close(&c);
	return e;
}

static void print_info(const vg_key_info *k)
{
	char u[64];
	char when[32] = "?";
	time_t t = (time_t)k->created;
	struct tm tm;

	usage_str(k->usage, u, sizeof u);
	if (gmtime_r(&t, &tm))
		(void)strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	(void)printf("%-24s %-8s %-28s owner=%u created=%s\n", k->name,
		     k->type ? vg_key_type_str(k->type) : "UNREADABLE", u, k->owner_uid, when);
}

/* A key as JSON (docs/voxguard.1, `key info --json`): type null when
 * the key's record cannot be read (UNREADABLE in the text). */
static json_t *info_json(const vg_key_info *k)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} bits[] = {{"sign", VG_USE_SIGN},       {"verify", VG_USE_VERIFY},
		    {"encrypt", VG_USE_ENCRYPT}, {"decrypt", VG_USE_DECRYPT},
		    {"mac", VG_USE_MAC},         {"derive", VG_USE_DERIVE}};
	json_t *o = json_object(), *u = json_array();

	if (!o || !u) {
		json_decref(o);
		json_decref(u);
		return NULL;
	}
	for (size_t i = 0; i < VG_ARRAY_LEN(bits); i++)
		if (k->usage & bits[i].bit)
			json_array_append_new(u, json_string(bits[i].name));
	json_object_set_new(o, "name", json_string(k->name));
	json_object_set_new(o, "type",
			    k->type ? json_string(vg_key_type_str(k->type)) : json_null());
	json_object_set_new(o, "usage", u);
	json_object_set_new(o, "owner_uid", json_integer(k->owner_uid));
	json_object_set_new(o, "created", json_integer((json_int_t)k->created));
	return o;
}

static int key_list(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "json";
	struct cli_opts o;
	vg_client *c = NULL;
	vg_key_info *keys = NULL;
	size_t n = 0;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_key_list(c, &keys, &n);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "key list", rc);
	} else if (cli_flag(&o, spec, "json")) {
		json_t *obj = json_object(), *arr = json_array();
		bool ok = obj && arr;
		for (size_t i = 0; ok && i < n; i++)
			ok = json_array_append_new(arr, info_json(&keys[i])) == 0;
		ok = ok && json_object_set(obj, "keys", arr) == 0;
		json_decref(arr);
		if (!ok) {
			json_decref(obj);
			obj = NULL;
		}
		e = cli_print_json(obj);
	} else {
		for (size_t i = 0; i < n; i++)
			print_info(&keys[i]);
	}
	free(keys);
	vg_client_close(&c);
	return e;
}

static int key_info(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "json";
	struct cli_opts o;
	vg_client *c = NULL;
	vg_key_info k;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_key_info_get(c, o.pos[0], &k);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "key info", rc);
	else if (cli_flag(&o, spec, "json"))
		e = cli_print_json(info_json(&k));
	else
		print_info(&k);
	vg_client_close(&c);
	return e;
}

static int key_public(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out=";
	struct cli_opts o;
	vg_client *c = NULL;
	char *pem = NULL;
	size_t len = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_key_public_pem(c, o.pos[0], &pem, &len);
	if (rc == VG_OK)
		e = cli_write(cli_opt(&o, spec, "out"), pem, len);
	else
		e = cli_fail_rc(c, "key public", rc);
	free(pem);
	vg_client_close(&c);
	return e;
}

static int key_delete(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	int e = cli_parse("", argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_key_delete(c, o.pos[0]);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "key delete", rc);
	vg_client_close(&c);
	return e;
}

/* sign, encrypt, decrypt: --in F (stdin) --out F (stdout). */
static int key_transform(struct cli *cli, int argc, char **argv, const char *what,
			 vg_rc (*fn)(vg_client *, const char *, const uint8_t *, size_t, uint8_t **,
				     size_t *))
{
	static const char spec[] = "in=,out=";
	struct cli_opts o;
	vg_client *c = NULL;
	uint8_t *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	rc = cli_read(cli_opt(&o, spec, "in"), VG_MAX_DATA_LEN + 64, &in, &in_len);
	if (rc != VG_OK)
		return cli_fail("%s: cannot read %s: %s", what,
				cli_opt(&o, spec, "in") ? cli_opt(&o, spec, "in")
							: "standard input",
				vg_rc_str(rc));
	if ((e = cli_connect(cli, &c))) {
		vg_free(in, in_len);
		return e;
	}
	rc = fn(c, o.pos[0], in, in_len, &out, &out_len);
	if (rc == VG_OK) {
		e = cli_write(cli_opt(&o, spec, "out"), out, out_len);
	} else {
		e = cli_fail_rc(c, what, rc);
	}
	vg_free(in, in_len);
	vg_free(out, out_len);
	vg_client_close(&c);
	return e;
}

static int key_sign(struct cli *cli, int argc, char **argv)
{
	return key_transform(cli, argc, argv, "key sign", vg_key_sign);
}

static int key_encrypt(struct cli *cli, int argc, char **argv)
{
	return key_transform(cli, argc, argv, "key encrypt", vg_key_encrypt);
}

static int key_decrypt(struct cli *cli, int argc, char **argv)
{
	return key_transform(cli, argc, argv, "key decrypt", vg_key_decrypt);
}

static int key_verify(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "in=,sig=";
	struct cli_opts o;
	vg_client *c = NULL;
	uint8_t *in = NULL, *sig = NULL;
	size_t in_len = 0, sig_len = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	if (!cli_opt(&o, spec, "sig"))
		return cli_fail("key verify: --sig FILE is required");
	rc = cli_read(cli_opt(&o, spec, "in"), VG_MAX_DATA_LEN, &in, &in_len);
	if (rc != VG_OK)
		return cli_fail("key verify: cannot read %s: %s",
				cli_opt(&o, spec, "in") ? cli_opt(&o, spec, "in")
							: "standard input",
				vg_rc_str(rc));
	rc = cli_read(cli_opt(&o, spec, "sig"), 1024, &sig, &sig_len);
	if (rc != VG_OK) {
		vg_free(in, in_len);
		return cli_fail("key verify: cannot read the signature %s: %s",
				cli_opt(&o, spec, "sig"), vg_rc_str(rc));
	}
	if (!(e = cli_connect(cli, &c))) {
		rc = vg_key_verify(c, o.pos[0], in, in_len, sig, sig_len);
		if (rc == VG_OK) {
			(void)printf("signature valid\n");
		} else if (rc == VG_ERR_VERIFY_FAILED) {
			(void)printf("signature INVALID\n");
			e = EXIT_NEGATIVE;
		} else {
			e = cli_fail_rc(c, "key verify", rc);
		}
	}
	vg_free(in, in_len);
	vg_free(sig, sig_len);
	vg_client_close(&c);
	return e;
}

static int key_mac(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "in=,out=";
	struct cli_opts o;
	vg_client *c = NULL;
	uint8_t *in = NULL, mac[32];
	size_t in_len = 0;
	char hex[65];
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	rc = cli_read(cli_opt(&o, spec, "in"), VG_MAX_DATA_LEN, &in, &in_len);
	if (rc != VG_OK)
		return cli_fail("key mac: cannot read %s: %s",
				cli_opt(&o, spec, "in") ? cli_opt(&o, spec, "in")
							: "standard input",
				vg_rc_str(rc));
	if (!(e = cli_connect(cli, &c))) {
		rc = vg_key_mac(c, o.pos[0], in, in_len, mac);
		if (rc != VG_OK) {
			e = cli_fail_rc(c, "key mac", rc);
		} else if (cli_opt(&o, spec, "out")) {
			e = cli_write(cli_opt(&o, spec, "out"), mac, sizeof mac);
		} else {
			vg_hex_encode(mac, sizeof mac, hex);
			(void)printf("%s\n", hex);
		}
	}
	vg_wipe(mac, sizeof mac);
	vg_free(in, in_len);
	vg_client_close(&c);
	return e;
}

/* The PEM key reference file of the OpenSSL provider (provider.h,
 * docs/TLS.md): names the key, holds no secret. The key is looked up
 * first, so that a reference to a key the caller cannot use is never
 * written; "device-identity" is the device identity key (SFR 4.2.2). */
static int key_reference(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out=";
	struct cli_opts o;
	vg_client *c = NULL;
	char *pub = NULL, *pem = NULL;
	size_t pub_len = 0, len = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	rc = vg_keyref_pem(o.pos[0], &pem, &len);
	if (rc != VG_OK)
		return cli_fail("key reference: %s: %s", o.pos[0], vg_rc_str(rc));
	if (!(e = cli_connect(cli, &c))) {
		if (strcmp(o.pos[0], VG_PROVIDER_IDENTITY_KEY) == 0)
			vg_client_set_owner(c, (int64_t)VG_OWNER_SERVICE);
		rc = vg_key_public_pem(c, o.pos[0], &pub, &pub_len);
		if (rc != VG_OK)
			e = cli_fail_rc(c, "key reference", rc);
		else
			e = cli_write(cli_opt(&o, spec, "out"), pem, len);
	}
	free(pub);
	free(pem);
	vg_client_close(&c);
	return e;
}

static const struct cli_cmd key_cmds[] = {
    {"create", key_create,
     "NAME --type p256|p384|ed25519|x25519|aes256|hmac256 [--usage sign,verify,derive,...]"},
    {"list", key_list, "[--json]: list your keys"},
    {"info", key_info, "NAME [--json]: type, usage, owner, creation time"},
    {"public", key_public, "NAME [--out F]: public key as PEM (what `stream encrypt --to` takes)"},
    {"delete", key_delete, "NAME"},
    {"sign", key_sign, "NAME --in F --out SIG (P-256/P-384: DER ECDSA/SHA-256/384; Ed25519)"},
    {"verify", key_verify, "NAME --in F --sig SIG (exit 0 valid, 1 invalid)"},
    {"encrypt", key_encrypt, "NAME --in F --out C (AES-256-GCM)"},
    {"decrypt", key_decrypt, "NAME --in C --out F"},
    {"mac", key_mac, "NAME --in F [--out F] (HMAC-SHA256, hex on stdout)"},
    {"reference", key_reference,
     "NAME [--out F]: PEM key reference for the OpenSSL provider (docs/TLS.md)"},
};

int cmd_key(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "key", key_cmds, VG_ARRAY_LEN(key_cmds), argc, argv);
}
