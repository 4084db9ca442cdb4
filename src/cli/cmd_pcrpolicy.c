/*
 * cmd_pcrpolicy.c - `voxguard pcr-policy`: the signed PCR policies that
 * open a root key sealed to the measured boot (rot/pcrpolicy.h,
 * docs/TPM2.md). On the build host: sign the PCR values a release boots
 * with; verify and show a policy file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli/cli.h"
#include "common/util.h"
#include "rot/pcrpolicy.h"

/* PCR=HEX: a PCR number below VG_ROT_PCRS and its SHA-256 value. */
static int parse_value(const char *arg, uint32_t *mask, uint8_t values[][32])
{
	char *end;
	unsigned long i = strtoul(arg, &end, 10);
	size_t n = 0;

	if (end == arg || *end != '=' || i >= VG_ROT_PCRS || (arg[0] == '0' && end - arg > 1))
		return cli_fail("%s: not PCR=VALUE (a PCR below %u, its SHA-256 value in hex)",
				arg, VG_ROT_PCRS);
	if (*mask & (1u << i))
		return cli_fail("PCR %lu given twice", i);
	if (strlen(end + 1) != 64 || !vg_hex_decode(end + 1, values[i], 32, &n) || n != 32)
		return cli_fail("%s: the value must be 64 hex digits (SHA-256)", arg);
	*mask |= 1u << i;
	return 0;
}

static int load(const char *path, vg_pcrpol_entry **e, size_t *n)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[256];
	vg_rc rc = cli_read(path, VG_PCRPOL_MAX_FILE, &buf, &len);

	if (rc != VG_OK)
		return cli_fail("cannot read %s: %s", path, vg_rc_str(rc));
	rc = vg_pcrpol_parse((const char *)buf, len, e, n, why, sizeof why);
	free(buf);
	if (rc != VG_OK)
		return cli_fail("%s: %s", path, why);
	return 0;
}

static int pp_sign(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "key=,out=,append";
	uint8_t values[VG_ROT_PCRS][32];
	char line[2048];
	uint32_t mask = 0;
	struct cli_opts o;
	const char *out;
	char *text = NULL;
	size_t len = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, CLI_MAX_POS);
	vg_rc rc;

	(void)cli;
	if (e)
		return e;
	out = cli_opt(&o, spec, "out");
	if (!cli_opt(&o, spec, "key") || !out)
		return cli_fail("usage: voxguard pcr-policy sign --key OEM-POLICY-KEY.pem --out FILE "
				"[--append] PCR=SHA256 ...");
	for (size_t i = 0; i < o.n_pos; i++)
		if ((e = parse_value(o.pos[i], &mask, values)) != 0)
			return e;
	rc = vg_pcrpol_sign_line(cli_opt(&o, spec, "key"), mask, (const uint8_t(*)[32])values,
				 line, sizeof line);
	if (rc != VG_OK)
		return cli_fail("pcr-policy sign: %s: %s", cli_opt(&o, spec, "key"),
				rc == VG_ERR_UNSUPPORTED ? "the key must be ECDSA P-256"
				: rc == VG_ERR_INVALID	 ? "not a PEM private key"
							 : vg_rc_str(rc));
	if (cli_flag(&o, spec, "append")) {
		vg_pcrpol_entry *old = NULL;
		size_t n = 0;
		uint8_t *buf = NULL;

		/* What is there must be a policy file itself. */
		if ((e = load(out, &old, &n)) != 0)
			return e;
		free(old);
		if (n >= VG_PCRPOL_MAX_ENTRIES)
			return cli_fail("%s: already %u entries", out, VG_PCRPOL_MAX_ENTRIES);
		rc = cli_read(out, VG_PCRPOL_MAX_FILE, &buf, &len);
		if (rc != VG_OK)
			return cli_fail("cannot read %s: %s", out, vg_rc_str(rc));
		text = malloc(len + strlen(line) + 2);
		if (!text) {
			free(buf);
			return cli_fail("out of memory");
		}
		memcpy(text, buf, len);
		free(buf);
		if (len && text[len - 1] != '\n')
			text[len++] = '\n';
	} else {
		static const char head[] = "# voxguard signed PCR policy (voxguard pcr-policy sign; "
					   "docs/TPM2.md)\n";
		text = malloc(sizeof head + strlen(line));
		if (!text)
			return cli_fail("out of memory");
		memcpy(text, head, sizeof head - 1);
		len = sizeof head - 1;
	}
	memcpy(text + len, line, strlen(line));
	len += strlen(line);
	if (len > VG_PCRPOL_MAX_FILE)
		e = cli_fail("%s: would be larger than %u bytes", out, VG_PCRPOL_MAX_FILE);
	if (!e)
		e = cli_write_ex(out, text, len, CLI_OUT_REPLACE_OWN);
	free(text);
	return e;
}

static int pp_verify(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "key=";
	vg_pcrpol_entry *ent = NULL;
	struct cli_opts o;
	EVP_PKEY *pk = NULL;
	size_t n = 0;
	FILE *f;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);

	(void)cli;
	if (e)
		return e;
	if (!cli_opt(&o, spec, "key"))
		return cli_fail("usage: voxguard pcr-policy verify --key OEM-POLICY-PUB.pem FILE");
	f = fopen(cli_opt(&o, spec, "key"), "r");
	if (f) {
		pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
		(void)fclose(f);
	}
	if (!pk)
		return cli_fail("%s: not a PEM public key", cli_opt(&o, spec, "key"));
	if ((e = load(o.pos[0], &ent, &n)) != 0) {
		EVP_PKEY_free(pk);
		return e;
	}
	for (size_t i = 0; i < n && !e; i++) {
		uint8_t approved[32], msg[32 + sizeof VG_PCRPOL_REF - 1];
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		int ok;

		if (!md || vg_pcrpol_approved(ent[i].mask, (const uint8_t(*)[32])ent[i].values,
					      approved) != VG_OK) {
			EVP_MD_CTX_free(md);
			e = cli_fail("out of memory");
			break;
		}
		memcpy(msg, approved, 32);
		memcpy(msg + 32, VG_PCRPOL_REF, sizeof VG_PCRPOL_REF - 1);
		ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
		     EVP_DigestVerify(md, ent[i].sig, ent[i].sig_len, msg, sizeof msg) == 1;
		EVP_MD_CTX_free(md);
		if (!ok) {
			(void)fprintf(stderr, "voxguard: %s line %u: not signed by this key\n",
				      o.pos[0], ent[i].line);
			e = EXIT_NEGATIVE;
		}
	}
	if (!e)
		(void)printf("%zu entr%s, each signed by the key\n", n, n == 1 ? "y" : "ies");
	free(ent);
	EVP_PKEY_free(pk);
	return e;
}

static int pp_show(struct cli *cli, int argc, char **argv)
{
	vg_pcrpol_entry *ent = NULL;
	struct cli_opts o;
	size_t n = 0;
	int e = cli_parse("", argc, argv, &o, 1, 1);

	(void)cli;
	if (e || (e = load(o.pos[0], &ent, &n)) != 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		(void)printf("entry %zu (line %u):\n", i + 1, ent[i].line);
		for (unsigned p = 0; p < VG_ROT_PCRS; p++)
			if (ent[i].mask & (1u << p)) {
				char hex[65];
				vg_hex_encode(ent[i].values[p], 32, hex);
				(void)printf("  PCR %-2u %s\n", p, hex);
			}
	}
	free(ent);
	return 0;
}

int cmd_pcr_policy(struct cli *cli, int argc, char **argv)
{
	static const struct cli_cmd table[] = {
	    {"sign", pp_sign, "--key OEM-POLICY-KEY.pem --out FILE [--append] PCR=SHA256 ..."},
	    {"verify", pp_verify, "--key OEM-POLICY-PUB.pem FILE"},
	    {"show", pp_show, "FILE"},
	};
	return cli_dispatch(cli, "pcr-policy", table, VG_ARRAY_LEN(table), argc, argv);
}
