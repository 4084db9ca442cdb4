/*
 * cmd_identity.c - `voxguard provision`, `voxguard identity` and
 * `voxguard attest` (SFR 4.2.1, 4.2.2, 4.2.3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "attest/psa_token.h"
#include "cli/cli.h"
#include "common/util.h"

static int write_csr(vg_client *c, const char *cn, const char *out)
{
	char *pem = NULL;
	size_t len = 0;
	vg_rc rc = vg_device_csr(c, cn, &pem, &len);
	int e;

	if (rc != VG_OK)
		return cli_fail_rc(c, "identity csr", rc);
	e = cli_write(out, pem, len);
	vg_free(pem, len);
	return e;
}

int cmd_provision(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "oem=,model=,hw-rev=,setup-code-out=,verification-service=,"
				   "csr-out=,csr-cn=,debug-key=,release-key=,tuf-root=";
	struct cli_opts o;
	vg_provision_req req = {0};
	char code[VG_SETUP_CODE_SIZE], line[VG_SETUP_CODE_SIZE + 1];
	const char *out;
	uint8_t *dkey = NULL, *rkey = NULL;
	size_t dkey_len = 0, rkey_len = 0;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	req.oem = cli_opt(&o, spec, "oem");
	req.model = cli_opt(&o, spec, "model");
	req.hw_rev = cli_opt(&o, spec, "hw-rev");
	req.verification_service = cli_opt(&o, spec, "verification-service");
	out = cli_opt(&o, spec, "setup-code-out");
	if (cli_opt(&o, spec, "debug-key")) {
		rc = cli_read(cli_opt(&o, spec, "debug-key"), 8192, &dkey, &dkey_len);
		if (rc != VG_OK)
			return cli_fail("cannot read %s: %s", cli_opt(&o, spec, "debug-key"),
					vg_rc_str(rc));
		req.debug_key = dkey;
		req.debug_key_len = dkey_len;
	}
	if (cli_opt(&o, spec, "release-key")) {
		rc = cli_read(cli_opt(&o, spec, "release-key"), 8192, &rkey, &rkey_len);
		if (rc != VG_OK) {
			free(dkey);
			return cli_fail("cannot read %s: %s", cli_opt(&o, spec, "release-key"),
					vg_rc_str(rc));
		}
		req.release_key = rkey;
		req.release_key_len = rkey_len;
	}
	if (!req.oem || !req.model || !req.hw_rev || !out) {
		free(dkey);
		free(rkey);
		return cli_fail("usage: voxguard provision --oem NAME --model NAME --hw-rev REV "
				"--setup-code-out FILE [--verification-service URL] "
				"[--csr-out FILE [--csr-cn CN]] [--debug-key OEM-DEBUG-PUB.pem] "
				"[--release-key OEM-RELEASE-PUB.pem] [--tuf-root ROOT.json]");
	}
	/* Readable before the one-time provisioning, not found missing after. */
	if (cli_opt(&o, spec, "tuf-root") && access(cli_opt(&o, spec, "tuf-root"), R_OK) != 0) {
		free(dkey);
		free(rkey);
		return cli_fail("cannot read %s", cli_opt(&o, spec, "tuf-root"));
	}
	/* The setup code exists once: make sure it can be written (and the
	 * CSR too) before the service makes it. */
	if ((e = cli_write_check(out)) ||
	    (cli_opt(&o, spec, "csr-out") && (e = cli_write_check(cli_opt(&o, spec, "csr-out")))) ||
	    (e = cli_connect(cli, &c))) {
		free(dkey);
		free(rkey);
		return e;
	}
	rc = vg_device_provision(c, &req, code);
	free(dkey);
	free(rkey);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "provision", rc);
		vg_client_close(&c);
		return e;
	}
	(void)snprintf(line, sizeof line, "%s\n", code);
	if (cli_write(out, line, strlen(line)) != 0) {
		/* Never lose it: without it no admin can ever be set up. */
		(void)fprintf(stderr,
			      "voxguard: the setup code was not written to %s; here it "
			      "is, keep it safe:\n",
			      out);
		(void)printf("%s", line);
		e = EXIT_ERROR;
	} else {
		(void)printf("provisioned: %s %s rev %s; setup code written to %s (mode 0600)\n",
			     req.oem, req.model, req.hw_rev, out);
	}
	vg_wipe(code, sizeof code);
	vg_wipe(line, sizeof line);
	if (!e && cli_opt(&o, spec, "tuf-root"))
		e = cli_trust_root(c, cli_opt(&o, spec, "tuf-root"));
	if (!e && cli_opt(&o, spec, "csr-out"))
		e = write_csr(c, cli_opt(&o, spec, "csr-cn"), cli_opt(&o, spec, "csr-out"));
	vg_client_close(&c);
	return e;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	vg_hex_encode(p, n, out);
}

static int identity_json(const vg_device_identity *id)
{
	char buf[2 * 64 + 1];
	json_t *o = json_object(), *arr = json_array();

	if (!o || !arr)
		return cli_fail("out of memory");
	if (id->provisioned > 0) {
		hex(id->instance_id, sizeof id->instance_id, buf);
		json_object_set_new(o, "instance_id", json_string(buf));
	} else {
		json_object_set_new(o, "instance_id", json_null());
	}
	hex(id->implementation_id, sizeof id->implementation_id, buf);
	json_object_set_new(o, "implementation_id", json_string(buf));
	json_object_set_new(o, "lifecycle", json_integer(id->lifecycle));
	json_object_set_new(o, "lifecycle_state",
			    json_string(vg_psa_lifecycle_name(id->lifecycle)));
	/* Unknown (a refused store) is null with the reason, never false. */
	json_object_set_new(o, "provisioned",
			    id->provisioned < 0 ? json_null() : json_boolean(id->provisioned));
	if (id->provisioned < 0)
		json_object_set_new(o, "lifecycle_why", json_string(id->lifecycle_why));
	if (id->provisioned > 0) {
		json_object_set_new(o, "oem", json_string(id->oem));
		json_object_set_new(o, "model", json_string(id->model));
		json_object_set_new(o, "hw_rev", json_string(id->hw_rev));
		if (id->verification_service[0])
			json_object_set_new(o, "verification_service",
					    json_string(id->verification_service));
		json_object_set_new(o, "provisioned_at",
				    json_integer((json_int_t)id->provisioned_at));
		json_object_set_new(o, "attestation_public_key",
				    json_string(id->attestation_key_pem));
	}
	json_object_set_new(o, "root_of_trust", json_string(id->rot_backend));
	hex(id->boot_seed, sizeof id->boot_seed, buf);
	json_object_set_new(o, "boot_seed", json_string(buf));
	for (size_t i = 0; i < id->n_components; i++) {
		const vg_component *c = &id->components[i];
		json_t *m = json_object();
		if (!m)
			continue;
		hex(c->measurement, c->measurement_len, buf);
		json_object_set_new(m, "measurement_value", json_string(buf));
		json_object_set_new(m, "measurement_type", json_string(c->name));
		json_object_set_new(m, "version", json_string(c->version));
		hex(c->signer_id, c->signer_id_len, buf);
		json_object_set_new(m, "signer_id", json_string(buf));
		json_object_set_new(m, "measurement_desc", json_string("sha-256"));
		json_array_append_new(arr, m);
	}
	json_object_set_new(o, "components", arr);
	return cli_print_json(o);
}

static void identity_text(const vg_device_identity *id)
{
	char buf[2 * 64 + 1];

	if (id->provisioned > 0) {
		hex(id->instance_id, sizeof id->instance_id, buf);
		(void)printf("instance id:        %s\n", buf);
		(void)printf("device:             %s %s, hardware revision %s\n", id->oem,
			     id->model, id->hw_rev);
	} else if (id->provisioned < 0) {
		(void)printf("instance id:        (unknown: %s; see docs/FIELD.md)\n",
			     id->lifecycle_why);
	} else {
		(void)printf("instance id:        (not provisioned: run `voxguard provision` at "
			     "the factory)\n");
	}
	hex(id->implementation_id, sizeof id->implementation_id, buf);
	(void)printf("implementation id:  %s\n", buf);
	if (id->provisioned < 0)
		(void)printf("lifecycle:          unknown (%s) (0x%04x)\n", id->lifecycle_why,
			     id->lifecycle);
	else
		(void)printf("lifecycle:          %s (0x%04x)\n",
			     vg_psa_lifecycle_name(id->lifecycle), id->lifecycle);
	(void)printf("root of trust:      %s\n", id->rot_backend);
	if (id->verification_service[0])
		(void)printf("verification:       %s\n", id->verification_service);
	(void)printf("software components:\n");
	for (size_t i = 0; i < id->n_components; i++) {
		hex(id->components[i].measurement, id->components[i].measurement_len, buf);
		(void)printf("  %-12s %-10s sha256:%s\n", id->components[i].name,
			     id->components[i].version, buf);
	}
}

int cmd_identity(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "json,public-key,csr-out=,cn=,set-cert=,cert";
	struct cli_opts o;
	vg_device_identity id;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	if (cli_opt(&o, spec, "csr-out")) {
		e = write_csr(c, cli_opt(&o, spec, "cn"), cli_opt(&o, spec, "csr-out"));
	} else if (cli_opt(&o, spec, "set-cert")) {
		uint8_t *pem = NULL;
		size_t len = 0;
		rc = cli_read(cli_opt(&o, spec, "set-cert"), 16384, &pem, &len);
		if (rc != VG_OK)
			e = cli_fail("cannot read %s: %s", cli_opt(&o, spec, "set-cert"),
				     vg_rc_str(rc));
		else if ((rc = vg_device_set_cert(c, (const char *)pem, len)) != VG_OK)
			e = cli_fail_rc(c, "identity set-cert", rc);
		free(pem);
	} else if (cli_flag(&o, spec, "cert")) {
		char *pem = NULL;
		size_t len = 0;
		rc = vg_device_cert(c, &pem, &len);
		if (rc != VG_OK)
			e = cli_fail_rc(c, "identity cert", rc);
		else
			(void)fputs(pem, stdout);
		vg_free(pem, len);
	} else {
		rc = vg_device_identity_get(c, &id);
		if (rc != VG_OK) {
			e = cli_fail_rc(c, "identity", rc);
		} else if (cli_flag(&o, spec, "public-key")) {
			if (id.provisioned < 0)
				e = cli_fail("identity: the provisioning state is unknown (%s): no "
					     "attestation key can be read",
					     id.lifecycle_why);
			else if (!id.provisioned)
				e = cli_fail("identity: the device is not provisioned: no "
					     "attestation key yet");
			else
				(void)fputs(id.attestation_key_pem, stdout);
		} else if (cli_flag(&o, spec, "json")) {
			e = identity_json(&id);
		} else {
			identity_text(&id);
		}
	}
	vg_client_close(&c);
	return e;
}

int cmd_attest(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "nonce=,out=";
	struct cli_opts o;
	uint8_t nonce[64], *tok = NULL;
	size_t nonce_len = 0, len = 0;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if (!cli_opt(&o, spec, "nonce") || !cli_opt(&o, spec, "out"))
		return cli_fail("usage: voxguard attest --nonce HEX --out TOKEN");
	if (!vg_hex_decode(cli_opt(&o, spec, "nonce"), nonce, sizeof nonce, &nonce_len) ||
	    (nonce_len != 32 && nonce_len != 48 && nonce_len != 64))
		return cli_fail("attest: --nonce takes 32, 48 or 64 bytes in hex (from the "
				"verifier)");
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_attest(c, nonce, nonce_len, &tok, &len);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "attest", rc);
	else
		e = cli_write(cli_opt(&o, spec, "out"), tok, len);
	vg_free(tok, len);
	vg_client_close(&c);
	return e;
}
