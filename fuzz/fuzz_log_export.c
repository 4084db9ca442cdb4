/*
 * fuzz_log_export.c - libFuzzer harness for the audit log export (SFR
 * 4.2.9): arbitrary bytes through the strict parser, the verifier (with the
 * carried key, pinned, and with a MAC seed), both renderers, and a
 * re-encoding round trip (encode(parse(x)) must parse and re-encode to the
 * same bytes). Seed corpus: fuzz/corpus/log_export/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_export.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rebuilds the parsed export with the canonical encoder. */
static void roundtrip(const vg_audit_log *l)
{
	size_t n = vg_audit_log_count(l), m = vg_audit_log_checkpoint_count(l), pl = 0;
	vg_audit_record *recs = calloc(n ? n : 1, sizeof *recs);
	vg_audit_cp *cps = calloc(m ? m : 1, sizeof *cps);
	const uint8_t *pub = vg_audit_log_pubkey(l, &pl);
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	vg_audit_log *again = NULL;

	if (!recs || !cps)
		goto out;
	for (size_t i = 0; i < n; i++)
		recs[i] = *vg_audit_log_record(l, i);
	for (size_t i = 0; i < m; i++)
		cps[i] = *vg_audit_log_checkpoint(l, i);
	if (vg_audit_export_encode(vg_audit_log_id(l), pub, pl, vg_audit_log_anchor(l),
				   vg_audit_log_drops(l), recs, n, cps, m, &a, &alen) != VG_OK)
		goto out; /* e.g. larger than VG_AUDIT_EXPORT_MAX once canonical */
	if (vg_audit_log_parse(a, alen, &again) != VG_OK)
		abort(); /* what we encode, we must parse */
	for (size_t i = 0; i < n; i++)
		recs[i] = *vg_audit_log_record(again, i);
	for (size_t i = 0; i < m; i++)
		cps[i] = *vg_audit_log_checkpoint(again, i);
	pub = vg_audit_log_pubkey(again, &pl);
	if (vg_audit_export_encode(vg_audit_log_id(again), pub, pl, vg_audit_log_anchor(again),
				   vg_audit_log_drops(again), recs, n, cps, m, &b,
				   &blen) != VG_OK ||
	    blen != alen || memcmp(a, b, alen) != 0)
		abort(); /* the canonical encoding is a fixed point */
out:
	vg_audit_log_free(&again);
	free(a);
	free(b);
	free(recs);
	free(cps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[VG_AUDIT_SEED_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	const vg_audit_cp *anchor;
	vg_audit_log *l = NULL;
	vg_audit_report rep;
	const uint8_t *pub;
	size_t pub_len = 0;
	FILE *f;

	if (vg_audit_log_parse(data, size, &l) != VG_OK) {
		if (l)
			abort(); /* a failed parse hands nothing out */
		return 0;
	}
	VG_IGNORE(vg_audit_log_verify(l, NULL, 0, NULL, &rep));
	if (rep.reason[sizeof rep.reason - 1] != '\0')
		abort();
	pub = vg_audit_log_pubkey(l, &pub_len);
	VG_IGNORE(vg_audit_log_verify(l, pub, pub_len, NULL, &rep));
	/* The MAC check evolves the seed up to the first record: keep it
	 * cheap here (the bound itself is VG_AUDIT_MAX_EVOLVE). */
	anchor = vg_audit_log_anchor(l);
	if (!anchor || anchor->next_seq < 4096)
		VG_IGNORE(vg_audit_log_verify(l, NULL, 0, seed, &rep));
	f = fopen("/dev/null", "w");
	if (f) {
		VG_IGNORE(vg_audit_log_write_json(l, f, true));
		VG_IGNORE(vg_audit_log_write_json(l, f, false));
		(void)fclose(f);
	}
	roundtrip(l);
	vg_audit_log_free(&l);
	return 0;
}
