/* cmd_attest.c - `voxguard verify-token`: offline check of a PSA attestation
 * token (SFR 4.2.3). Needs no service. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "attest/psa_token.h"
#include "attest/reference.h"
#include "cli/cli.h"
#include "common/util.h"

int cmd_verify_token(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "nonce=,key=,reference=,json";
	struct cli_opts o;
	uint8_t *tok = NULL, *key = NULL, nonce[64];
	size_t tok_len = 0, key_len = 0, nonce_len = 0;
	vg_psa_verify_opts opts = {0};
	vg_psa_sw_component ref[VG_PSA_MAX_COMPONENTS];
	vg_psa_claims claims;
	vg_psa_profile profile = 0;
	char why[160] = "";
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	(void)cli;
	if (e)
		return e;
	if (!cli_opt(&o, spec, "key"))
		return cli_fail("verify-token: --key PEM (the device's attestation public key) is "
				"required");
	if (cli_opt(&o, spec, "nonce")) {
		if (!vg_hex_decode(cli_opt(&o, spec, "nonce"), nonce, sizeof nonce, &nonce_len) ||
		    (nonce_len != 32 && nonce_len != 48 && nonce_len != 64))
			return cli_fail("verify-token: --nonce takes 32, 48 or 64 bytes in hex");
		opts.nonce = nonce;
		opts.nonce_len = nonce_len;
	}
	if (cli_opt(&o, spec, "reference")) {
		uint8_t *txt = NULL;
		size_t txt_len = 0;
		rc =
		    cli_read(cli_opt(&o, spec, "reference"), VG_REFERENCE_MAX_FILE, &txt, &txt_len);
		if (rc != VG_OK)
			return cli_fail("cannot read %s: %s", cli_opt(&o, spec, "reference"),
					vg_rc_str(rc));
		rc = vg_psa_reference_parse((const char *)txt, txt_len, ref, &opts.n_reference, why,
					    sizeof why);
		free(txt);
		if (rc != VG_OK)
			return cli_fail("verify-token: %s: %s", cli_opt(&o, spec, "reference"),
					why);
		opts.reference = ref;
	}
	if ((e = cli_read_pubkey(cli_opt(&o, spec, "key"), &key, &key_len)))
		return e;
	rc = cli_read(o.pos[0], VG_PSA_MAX_TOKEN + 1, &tok, &tok_len);
	if (rc != VG_OK) {
		OPENSSL_free(key);
		return cli_fail("cannot read %s: %s", o.pos[0],
				rc == VG_ERR_TOO_LARGE ? "larger than any token" : vg_rc_str(rc));
	}
	rc = vg_psa_token_verify(tok, tok_len, key, key_len, &opts, &claims, &profile, why,
				 sizeof why);
	if (rc == VG_OK) {
		if (cli_flag(&o, spec, "json")) {
			if (vg_psa_claims_to_json(&claims, profile, stdout) != VG_OK)
				e = cli_fail("verify-token: cannot write output");
		} else {
			char iid[2 * VG_PSA_INSTANCE_ID_LEN + 1];
			vg_hex_encode(claims.instance_id, VG_PSA_INSTANCE_ID_LEN, iid);
			(void)printf("token valid: profile %s, instance %s, lifecycle %s, %zu "
				     "software components%s%s\n",
				     vg_psa_profile_name(profile), iid,
				     vg_psa_lifecycle_name(claims.lifecycle), claims.n_components,
				     opts.nonce ? ", nonce matches" : "",
				     opts.reference ? ", components match the reference" : "");
		}
		if (!opts.nonce)
			(void)fprintf(stderr, "voxguard: warning: no --nonce given: the token's "
					      "freshness was not checked\n");
	} else if (rc == VG_ERR_VERIFY_FAILED || rc == VG_ERR_PROTOCOL || rc == VG_ERR_TOO_LARGE ||
		   rc == VG_ERR_UNSUPPORTED) {
		/* A token that does not verify, for whatever reason, is a
		 * negative answer (exit 1), not a tool error. */
		(void)printf("token INVALID: %s\n", why[0] ? why : vg_rc_str(rc));
		e = EXIT_NEGATIVE;
	} else {
		e = cli_fail("verify-token: %s%s%s", vg_rc_str(rc), why[0] ? ": " : "", why);
	}
	vg_wipe(&claims, sizeof claims);
	free(tok);
	OPENSSL_free(key);
	return e;
}
