/*
 * cmd_bundle.c - `voxguard bundle`: update bundles (SFR 4.2.6).
 *
 *   bundle create --out B --version V [--security-version N]
 *                 [--oem O --model M --hw-rev R] [--chunk-size BYTES]
 *                 --key RELEASE.key NAME=IMAGE ...
 *   bundle verify --key RELEASE.pub [--min-security-version N] B
 *   bundle install --key RELEASE.pub --image NAME --slot PATH
 *                 [--min-security-version N] [--oem O --model M --hw-rev R] B
 *
 * install streams the image into the slot with every chunk verified
 * before it is written, and draws a progress bar with an ETA on stderr
 * when stderr is a terminal. docs/UPDATE.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cli/cli.h"
#include "update/bundle.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct bar {
	double t0, last;
	bool tty;
};

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	struct bar *b = ctx;
	double t = now_s(), el = t - b->t0, rate, eta;
	int pct, fill;

	if (!b->tty || (t - b->last < 0.2 && done < total))
		return;
	b->last = t;
	pct = total ? (int)(done * 100 / total) : 100;
	fill = pct / 4;
	rate = el > 0 ? (double)done / el : 0;
	eta = rate > 0 ? (double)(total - done) / rate : 0;
	(void)fprintf(stderr, "\r[%-25.*s] %3d%%  %7.1f MiB/s  ETA %3.0f s ", fill,
		      "#########################", pct, rate / 1048576.0, eta);
	if (done >= total)
		(void)fputc('\n', stderr);
}

static int parse_opts(int argc, char **argv, const char *spec, struct cli_opts *o, size_t max_pos)
{
	return cli_parse(spec, argc, argv, o, 1, max_pos);
}

static int open_bundle(const struct cli_opts *o, const char *spec, vg_bundle **b)
{
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
	rc = vg_bundle_open(b, o->pos[o->n_pos - 1], &p, why);
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
				   "chunk-size=,key=";
	struct cli_opts o;
	vg_bundle_spec s = {0};
	char why[VG_BUNDLE_WHY_LEN] = "";
	EVP_PKEY *k;
	FILE *f;
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
	f = fopen(cli_opt(&o, spec, "key"), "r");
	if (!f)
		return cli_fail("cannot open %s", cli_opt(&o, spec, "key"));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	(void)fclose(f);
	if (!k)
		return cli_fail("%s: not a PEM private key", cli_opt(&o, spec, "key"));
	rc = vg_bundle_create(cli_opt(&o, spec, "out"), &s, k, why);
	EVP_PKEY_free(k);
	if (rc != VG_OK)
		return cli_fail("bundle create: %s", why[0] ? why : vg_rc_str(rc));
	(void)printf("bundle %s: version %s, security version %" PRIu64 ", %zu image%s\n",
		     cli_opt(&o, spec, "out"), s.version, s.security_version, s.n,
		     s.n == 1 ? "" : "s");
	return 0;
}

static int bundle_verify(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "key=,min-security-version=,oem=,model=,hw-rev=";
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
			(void)printf("  %-24s %" PRIu64 " bytes, %" PRIu64 " chunks: ok\n", im->name,
				     im->size, im->n_chunks);
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
	static const char spec[] = "key=,image=,slot=,min-security-version=,oem=,model=,hw-rev=";
	struct cli_opts o;
	vg_bundle *b = NULL;
	struct bar bar = {.t0 = now_s(), .tty = isatty(2) == 1};
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
	rc = vg_bundle_install(b, cli_opt(&o, spec, "image"), cli_opt(&o, spec, "slot"), progress,
			       &bar, &written, why);
	if (rc != VG_OK) {
		(void)fprintf(stderr, "voxguard: bundle install: %s (%" PRIu64
				      " verified bytes were written to the slot)\n",
			      why[0] ? why : vg_rc_str(rc), written);
		e = EXIT_NEGATIVE;
	} else {
		(void)printf("installed %s %s into %s: %" PRIu64 " bytes, every chunk verified "
			     "before it was written\n",
			     cli_opt(&o, spec, "image"), vg_bundle_version(b), cli_opt(&o, spec, "slot"),
			     written);
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
