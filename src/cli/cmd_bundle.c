/*
 * cmd_bundle.c - `voxguard bundle`: update bundles (SFR 4.2.6).
 *
 *   bundle create --out B --version V [--security-version N]
 *                 [--oem O --model M --hw-rev R] [--chunk-size BYTES]
 *                 [--encrypt-for KEY.pub[,KEY2.pub...]]
 *                 --key RELEASE.key NAME=IMAGE ...
 *   bundle verify --key RELEASE.pub [--min-security-version N]
 *                 [--decrypt-key KEY.pem] B
 *   bundle install --key RELEASE.pub --image NAME --slot PATH [--resume]
 *                 [--min-security-version N] [--oem O --model M --hw-rev R]
 *                 [--decrypt-key KEY.pem] B
 *
 * --encrypt-for makes a format 2 bundle whose payload only holders of one
 * of the listed P-256 keys can read (a device's `voxguard update key`, or a
 * fleet key); --decrypt-key reads one on the host with a private key (a
 * device decrypts through the service: `voxguard update install`).
 *
 * install streams the image into the slot with every chunk verified
 * before it is written, and draws a progress bar with an ETA on stderr
 * when stderr is a terminal. docs/UPDATE.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cli/cli.h"
#include "crypto/wrap.h"
#include "update/bundle.h"

static int parse_opts(int argc, char **argv, const char *spec, struct cli_opts *o, size_t max_pos)
{
	return cli_parse(spec, argc, argv, o, 1, max_pos);
}

/* Host-side unwrap with a private key from a PEM file. */
static vg_rc unwrap_with(void *ctx, const uint8_t kid[32], const uint8_t *epk, size_t epk_len,
			 const uint8_t wrapped[40], uint8_t cek[32])
{
	uint8_t mine[32];

	if (vg_wrap_kid(ctx, mine) != VG_OK || memcmp(mine, kid, 32) != 0)
		return VG_ERR_NOT_FOUND;
	return vg_unwrap_key(ctx, epk, epk_len, wrapped, cek);
}

static EVP_PKEY *read_private(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		(void)fclose(f);
	return k;
}

static int open_bundle(const struct cli_opts *o, const char *spec, vg_bundle **b)
{
	EVP_PKEY *dk = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	vg_bundle_policy p = {0};
	char why[VG_BUNDLE_WHY_LEN] = "";
	const char *minv = cli_opt(o, spec, "min-security-version");
	int e;
	vg_rc rc;

	if (!cli_opt(o, spec, "key"))
		return cli_fail("bundle: --key RELEASE.pub is required");
	if ((e = cli_read_pubkey(cli_opt(o, spec, "key"), &der, &len)))
		return e;
	p.release_key = der;
	p.release_key_len = len;
	p.min_security_version = minv ? strtoull(minv, NULL, 10) : 0;
	p.oem = cli_opt(o, spec, "oem");
	p.model = cli_opt(o, spec, "model");
	p.hw_rev = cli_opt(o, spec, "hw-rev");
	if (p.oem && (!p.model || !p.hw_rev)) {
		OPENSSL_free(der);
		return cli_fail("bundle: --oem, --model and --hw-rev go together");
	}
	if (cli_opt(o, spec, "decrypt-key")) {
		dk = read_private(cli_opt(o, spec, "decrypt-key"));
		if (!dk) {
			OPENSSL_free(der);
			return cli_fail("%s: not a PEM private key",
					cli_opt(o, spec, "decrypt-key"));
		}
		p.unwrap = unwrap_with;
		p.unwrap_ctx = dk;
	}
	rc = vg_bundle_open(b, o->pos[o->n_pos - 1], &p, why);
	EVP_PKEY_free(dk);
	OPENSSL_free(der);
	if (rc != VG_OK) {
		(void)fprintf(stderr, "voxguard: bundle: %s\n", why[0] ? why : vg_rc_str(rc));
		return EXIT_NEGATIVE;
	}
	return 0;
}

static int bundle_create(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out=,version=,security-version=,oem=,model=,hw-rev=,"
				   "chunk-size=,key=,encrypt-for=";
	struct cli_opts o;
	vg_bundle_spec s = {0};
	struct cli_out dest;
	char why[VG_BUNDLE_WHY_LEN] = "";
	EVP_PKEY *k;
	int e = cli_parse(spec, argc, argv, &o, 1, VG_BUNDLE_MAX_IMAGES);
	vg_rc rc;

	(void)cli;
	if (e)
		return e;
	if (!cli_opt(&o, spec, "out") || !cli_opt(&o, spec, "version") || !cli_opt(&o, spec, "key"))
		return cli_fail("usage: voxguard bundle create --out B --version V "
				"[--security-version N] [--oem O --model M --hw-rev R] "
				"[--chunk-size BYTES] --key RELEASE.key NAME=IMAGE ...");
	s.version = cli_opt(&o, spec, "version");
	s.security_version = cli_opt(&o, spec, "security-version")
				 ? strtoull(cli_opt(&o, spec, "security-version"), NULL, 10)
				 : 0;
	s.chunk_size = cli_opt(&o, spec, "chunk-size")
			   ? (uint32_t)strtoul(cli_opt(&o, spec, "chunk-size"), NULL, 10)
			   : 0;
	s.oem = cli_opt(&o, spec, "oem");
	s.model = cli_opt(&o, spec, "model");
	s.hw_rev = cli_opt(&o, spec, "hw-rev");
	if (s.oem && (!s.model || !s.hw_rev))
		return cli_fail("bundle create: --oem, --model and --hw-rev go together");
	for (size_t i = 0; i < o.n_pos; i++) {
		char *eq = strchr(o.pos[i], '=');
		if (!eq || eq == o.pos[i])
			return cli_fail("bundle create: images are NAME=FILE, not '%s'", o.pos[i]);
		*eq = '\0';
		s.names[s.n] = o.pos[i];
		s.files[s.n++] = eq + 1;
	}
	if (cli_opt(&o, spec, "encrypt-for")) {
		char list[4096], *save = NULL;
		if (strlen(cli_opt(&o, spec, "encrypt-for")) >= sizeof list)
			return cli_fail("bundle create: --encrypt-for list too long");
		strcpy(list, cli_opt(&o, spec, "encrypt-for"));
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			FILE *pf = fopen(t, "r");
			EVP_PKEY *pk = pf ? PEM_read_PUBKEY(pf, NULL, NULL, NULL) : NULL;
			if (pf)
				(void)fclose(pf);
			if (!pk || s.n_recipients == VG_BUNDLE_MAX_RECIPIENTS) {
				EVP_PKEY_free(pk);
				e = cli_fail("bundle create: %s: %s", t,
					     pk ? "too many recipients" : "not a PEM public key");
				goto out;
			}
			s.recipients[s.n_recipients++] = pk;
		}
	}
	k = read_private(cli_opt(&o, spec, "key"));
	if (!k) {
		e = cli_fail("%s: not a PEM private key", cli_opt(&o, spec, "key"));
		goto out;
	}
	/* Written into a private directory beside --out, then moved onto it
	 * by cli_write's rules (no symlink, no FIFO, O_EXCL in /tmp). */
	if ((e = cli_out_begin(&dest, cli_opt(&o, spec, "out")))) {
		EVP_PKEY_free(k);
		goto out;
	}
	rc = vg_bundle_create(dest.path, &s, k, why);
	EVP_PKEY_free(k);
	if (rc != VG_OK) {
		cli_out_abort(&dest);
		e = cli_fail("bundle create: %s", why[0] ? why : vg_rc_str(rc));
		goto out;
	}
	if ((e = cli_out_commit(&dest, cli_opt(&o, spec, "out"))))
		goto out;
	(void)printf("bundle %s: version %s, security version %" PRIu64 ", %zu image%s%s\n",
		     cli_opt(&o, spec, "out"), s.version, s.security_version, s.n,
		     s.n == 1 ? "" : "s", s.n_recipients ? ", encrypted" : "");
out:
	for (size_t i = 0; i < s.n_recipients; i++)
		EVP_PKEY_free(s.recipients[i]);
	return e;
}

static int bundle_verify(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "key=,min-security-version=,oem=,model=,hw-rev=,decrypt-key=";
	struct cli_opts o;
	vg_bundle *b = NULL;
	int e = parse_opts(argc, argv, spec, &o, 1);

	(void)cli;
	if (e || (e = open_bundle(&o, spec, &b)))
		return e;
	for (size_t i = 0; i < vg_bundle_n_images(b) && !e; i++) {
		const vg_bundle_image_info *im = vg_bundle_image(b, i);
		char why[VG_BUNDLE_WHY_LEN] = "";
		vg_rc rc = vg_bundle_install(b, im->name, NULL, NULL, NULL, NULL, why);
		if (rc != VG_OK) {
			(void)fprintf(stderr, "voxguard: bundle: %s\n", why);
			e = EXIT_NEGATIVE;
		} else {
			(void)printf("  %-24s %" PRIu64 " bytes, %" PRIu64 " chunks: ok\n",
				     im->name, im->size, im->n_chunks);
		}
	}
	if (!e)
		(void)printf("bundle valid: version %s, security version %" PRIu64 "\n",
			     vg_bundle_version(b), vg_bundle_security_version(b));
	vg_bundle_close(&b);
	return e;
}

static int bundle_install(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "key=,image=,slot=,min-security-version=,oem=,model=,hw-rev=,"
				   "decrypt-key=,resume";
	struct cli_opts o;
	vg_bundle *b = NULL;
	struct cli_bar bar;
	char why[VG_BUNDLE_WHY_LEN] = "";
	uint64_t written = 0;
	int e = parse_opts(argc, argv, spec, &o, 1);
	vg_rc rc;

	(void)cli;
	if (e)
		return e;
	if (!cli_opt(&o, spec, "image") || !cli_opt(&o, spec, "slot"))
		return cli_fail("usage: voxguard bundle install --key RELEASE.pub --image NAME "
				"--slot PATH [--min-security-version N] BUNDLE");
	if ((e = open_bundle(&o, spec, &b)))
		return e;
	cli_bar_start(&bar, NULL);
	{
		vg_bundle_install_opts io = {.resume = cli_flag(&o, spec, "resume"),
					     .progress = cli_bar_progress,
					     .ctx = &bar};
		vg_bundle_install_result r;
		rc = vg_bundle_install_ex(b, cli_opt(&o, spec, "image"), cli_opt(&o, spec, "slot"),
					  &io, &r, why);
		written = r.written;
		if (r.resumed)
			(void)printf("resumed: %" PRIu64 " bytes already in the slot verified\n",
				     r.resumed);
	}
	if (rc != VG_OK) {
		(void)fprintf(stderr,
			      "voxguard: bundle install: %s (%" PRIu64
			      " verified bytes were written to the slot)\n",
			      why[0] ? why : vg_rc_str(rc), written);
		e = EXIT_NEGATIVE;
	} else {
		(void)printf("installed %s %s into %s: %" PRIu64 " bytes, every chunk verified "
			     "before it was written\n",
			     cli_opt(&o, spec, "image"), vg_bundle_version(b),
			     cli_opt(&o, spec, "slot"), written);
	}
	vg_bundle_close(&b);
	return e;
}

int cmd_bundle(struct cli *cli, int argc, char **argv)
{
	static const struct cli_cmd table[] = {
	    {"create", bundle_create,
	     "--out B --version V [--security-version N] --key RELEASE.key NAME=IMAGE ..."},
	    {"verify", bundle_verify, "--key RELEASE.pub [--min-security-version N] BUNDLE"},
	    {"install", bundle_install,
	     "--key RELEASE.pub --image NAME --slot PATH [--min-security-version N] BUNDLE"},
	};
	return cli_dispatch(cli, "bundle", table, VG_ARRAY_LEN(table), argc, argv);
}
