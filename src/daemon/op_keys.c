/* op_keys.c - the keystore's operations (SFR 4.2.11) and the listing of
 * a namespace's keys or records. See ops.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audio/hpke.h"
#include "common/util.h"
#include "daemon/budget.h"
#include "daemon/ops.h"

struct list_ctx {
	vg_req *r;
	cbor_item_t *arr;
	bool keys;
	vg_rc rc;
};

static int list_cb(void *ctx, const char *name)
{
	struct list_ctx *l = ctx;
	cbor_item_t *it;
	bool failed = false;

	if (!l->keys) {
		it = cbor_build_string(name);
	} else {
		vg_key_info info;
		vg_rc rc = vg_keystore_info(l->r->s->ks, l->r->owner, name, &info);
		if (rc != VG_OK) {
			/* One unreadable key does not hide the others. */
			it = cbor_new_definite_map(2);
			if (it) {
				vg_map_add_text(it, VG_A_NAME, name, &failed);
				vg_map_add_text(it, VG_A_MSG, vg_rc_str(rc), &failed);
			}
		} else {
			it = cbor_new_definite_map(5);
			if (it) {
				vg_map_add_text(it, VG_A_NAME, name, &failed);
				vg_map_add_uint(it, VG_A_TYPE, info.type, &failed);
				vg_map_add_uint(it, VG_A_USAGE, info.usage, &failed);
				vg_map_add_uint(it, VG_A_OWNER, info.owner_uid, &failed);
				vg_map_add_uint(it, VG_A_CREATED, info.created, &failed);
			}
		}
	}
	if (!it || failed || !cbor_array_push(l->arr, it)) {
		l->rc = VG_ERR_NOMEM;
		if (it)
			cbor_decref(&it);
		return 1;
	}
	cbor_decref(&it);
	return 0;
}

static vg_rc list(vg_req *r, bool keys)
{
	struct list_ctx l = {.r = r, .keys = keys, .rc = VG_OK};
	char ns[24];
	vg_rc rc;

	l.arr = cbor_new_indefinite_array();
	if (!l.arr)
		return VG_ERR_NOMEM;
	if (keys) {
		rc = vg_keystore_list(r->s->ks, r->owner, list_cb, &l);
	} else {
		(void)snprintf(ns, sizeof ns, "u/%u", r->owner);
		rc = vg_secstore_list(r->s->store, ns, list_cb, &l);
	}
	if (rc == VG_OK)
		rc = l.rc;
	if (rc != VG_OK) {
		cbor_decref(&l.arr);
		return rc;
	}
	/* Re-pack as a definite array: our decoders accept nothing else. */
	{
		size_t n = cbor_array_size(l.arr);
		cbor_item_t *def = cbor_new_definite_array(n);
		if (!def) {
			cbor_decref(&l.arr);
			return VG_ERR_NOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			cbor_item_t *it = cbor_array_get(l.arr, i);
			bool ok = cbor_array_push(def, it);
			cbor_decref(&it);
			if (!ok) {
				cbor_decref(&def);
				cbor_decref(&l.arr);
				return VG_ERR_NOMEM;
			}
		}
		cbor_decref(&l.arr);
		vg_msgb_item(&r->out, VG_A_LIST, def);
	}
	return VG_OK;
}

/* A signature off the event loop (workers.h): the key is looked up, its
 * usage policy checked and its signer prepared here; the signing runs on
 * a worker with the signer and a copy of the data. */
struct sign_job {
	vg_req_job job;
	vg_signer *signer;
	uint8_t *data, *sig;
	size_t len, sig_len;
	vg_rc rc;
};

static void sign_run(vg_job *base)
{
	struct sign_job *j = (struct sign_job *)base;

	j->rc = vg_signer_sign(j->signer, j->data, j->len, &j->sig, &j->sig_len);
}

static vg_rc sign_finish(vg_req *r, vg_req_job *base)
{
	struct sign_job *j = (struct sign_job *)base;

	if (j->rc == VG_OK)
		vg_msgb_bytes(&r->out, VG_A_SIG, j->sig, j->sig_len);
	if (r->owner == VG_OWNER_SERVICE)
		/* The device identity key, for a member of identity_tls_group
		 * (policy.h): every use is audited (the audit log's per-uid
		 * rate limit summarises a flood). */
		vg_req_audit(r, "identity.tls_sign", j->rc == VG_OK ? "success" : "failure",
			     j->rc == VG_OK ? NULL : vg_rc_str(j->rc));
	return j->rc;
}

static void sign_release(vg_req_job *base)
{
	struct sign_job *j = (struct sign_job *)base;

	vg_signer_free(j->signer);
	vg_free(j->data, j->len);
	free(j->sig);
	free(j);
}

/* alg NULL: a message signature; else the digest's algorithm. */
static vg_rc sign_defer(vg_req *r, const char *alg, const uint8_t *data, size_t len)
{
	struct sign_job *j = calloc(1, sizeof *j);
	vg_rc rc;

	if (!j)
		return VG_ERR_NOMEM;
	j->job.base.run = sign_run;
	j->job.finish = sign_finish;
	j->job.release = sign_release;
	j->data = malloc(len ? len : 1);
	rc = j->data ? vg_keystore_signer(r->s->ks, r->owner, r->name, alg, &j->signer)
		     : VG_ERR_NOMEM;
	if (rc != VG_OK) {
		sign_release(&j->job);
		return rc;
	}
	memcpy(j->data, data, len);
	j->len = len;
	r->job = &j->job;
	return VG_OK;
}

/* The KEM of an HPKE stream key (audio/hpke.h; SFR 4.2.8 note 7, profile
 * 2.3.1) off the event loop, as a signature: the key is looked up and its
 * usage (DERIVE) and type checked here; the DH runs on a worker with a
 * reference to the key and copies of the public inputs. The private key
 * stays in the service; the KEM shared secret goes to the caller, who runs
 * the key schedule. */
struct kem_job {
	vg_req_job job;
	EVP_PKEY *key;
	vg_hpke_suite suite;
	bool encap; /* AuthEncap with key as the sender's; else Decap */
	uint8_t in[VG_HPKE_MAX_ENC], peer[VG_HPKE_MAX_PK];
	size_t in_len, peer_len;
	uint8_t enc[VG_HPKE_MAX_ENC], secret[VG_HPKE_SECRET_LEN];
	size_t enc_len;
	vg_rc rc;
};

static void kem_run(vg_job *base)
{
	struct kem_job *j = (struct kem_job *)base;

	if (j->encap)
		j->rc = vg_hpke_encap(&j->suite, j->in, j->in_len, j->key, NULL, 0, j->enc,
				      &j->enc_len, j->secret);
	else
		j->rc = vg_hpke_decap(&j->suite, j->in, j->in_len, j->key,
				      j->peer_len ? j->peer : NULL, j->peer_len, j->secret);
}

static vg_rc kem_finish(vg_req *r, vg_req_job *base)
{
	struct kem_job *j = (struct kem_job *)base;

	if (j->rc == VG_OK) {
		if (j->encap)
			vg_msgb_bytes(&r->out, VG_A_ENC, j->enc, j->enc_len);
		vg_msgb_bytes(&r->out, VG_A_SECRET, j->secret, sizeof j->secret);
	} else if (j->rc == VG_ERR_INVALID) {
		r->why = "the encapsulated key or peer public key is malformed or not on the curve";
	} else if (j->rc == VG_ERR_CRYPTO) {
		r->why = "the Diffie-Hellman failed (a small-order or invalid point)";
	}
	vg_wipe(j->secret, sizeof j->secret);
	return j->rc;
}

static void kem_release(vg_req_job *base)
{
	struct kem_job *j = (struct kem_job *)base;

	EVP_PKEY_free(j->key);
	vg_wipe(j, sizeof *j);
	free(j);
}

/* KEY_DECAP: KEM, ENC (+ PEER_PUB: the sender's, auth mode);
 * KEY_AUTH_ENCAP: KEM, PEER_PUB (the recipient's). Sizes are checked
 * against the KEM before the key is looked up. */
static vg_rc kem_defer(vg_req *r, bool encap)
{
	struct kem_job *j;
	const uint8_t *in = NULL, *peer = NULL;
	size_t in_len = 0, peer_len = 0, npk;
	uint64_t kem = 0;
	vg_rc rc;

	rc = vg_msg_uint(&r->msg, VG_A_KEM, &kem);
	if (rc != VG_OK)
		return rc == VG_ERR_NOT_FOUND ? VG_ERR_INVALID : rc;
	npk = kem <= UINT16_MAX ? vg_hpke_pk_len((uint16_t)kem) : 0;
	if (!npk) {
		r->why = "unsupported KEM: 0x0010 DHKEM(P-256) or 0x0020 DHKEM(X25519)";
		return VG_ERR_UNSUPPORTED;
	}
	if (encap) {
		rc = vg_req_bytes(r, VG_A_PEER_PUB, &in, &in_len, VG_HPKE_MAX_PK);
	} else {
		rc = vg_req_bytes(r, VG_A_ENC, &in, &in_len, VG_HPKE_MAX_ENC);
		if (rc == VG_OK) {
			rc = vg_msg_bytes(&r->msg, VG_A_PEER_PUB, &peer, &peer_len);
			if (rc == VG_ERR_NOT_FOUND)
				rc = VG_OK;
			else if (rc == VG_OK && peer_len != npk)
				rc = VG_ERR_INVALID;
		}
	}
	if (rc == VG_OK && in_len != npk)
		rc = VG_ERR_INVALID;
	if (rc == VG_ERR_INVALID && !r->why)
		r->why = "a public key or enc of the wrong length for the KEM";
	if (rc != VG_OK)
		return rc;
	j = calloc(1, sizeof *j);
	if (!j)
		return VG_ERR_NOMEM;
	j->job.base.run = kem_run;
	j->job.finish = kem_finish;
	j->job.release = kem_release;
	j->encap = encap;
	/* The KEM uses its own HKDF-SHA256; the suite's KDF and AEAD are
	 * the caller's key schedule's, not needed here. */
	j->suite = (vg_hpke_suite){(uint16_t)kem, VG_HPKE_KDF_SHA256, VG_HPKE_AEAD_AES128GCM};
	memcpy(j->in, in, in_len);
	j->in_len = in_len;
	if (peer_len) {
		memcpy(j->peer, peer, peer_len);
		j->peer_len = peer_len;
	}
	rc = vg_keystore_kem_key(r->s->ks, r->owner, r->name, (uint16_t)kem, &j->key);
	if (rc == VG_ERR_POLICY)
		r->why = encap ? "the key may not derive (usage) or is not of the KEM's type"
			       : "the key may not decapsulate stream keys (no derive usage) or is "
				 "not of the KEM's type";
	if (rc != VG_OK) {
		kem_release(&j->job);
		return rc;
	}
	r->job = &j->job;
	return VG_OK;
}

vg_rc vg_op_key(vg_req *r)
{
	vg_keystore *ks = r->s->ks;
	const uint8_t *data = NULL, *sig = NULL;
	size_t len = 0, sig_len = 0;
	uint8_t *out = NULL;
	size_t out_len = 0;
	uint64_t type = 0, usage = 0;
	vg_key_info info;
	vg_rc rc;

	switch (r->op) {
	case VG_OP_KEY_CREATE:
		rc = vg_msg_uint(&r->msg, VG_A_TYPE, &type);
		if (rc != VG_OK)
			return rc == VG_ERR_NOT_FOUND ? VG_ERR_INVALID : rc;
		rc = vg_msg_uint(&r->msg, VG_A_USAGE, &usage);
		if (rc == VG_ERR_NOT_FOUND)
			usage = 0;
		else if (rc != VG_OK)
			return rc;
		if (type > 255 || usage > UINT32_MAX)
			return VG_ERR_INVALID;
		{
			/* The caller's budget of keys (SFR 4.2.10). */
			vg_budget b;
			uint64_t n = 0;
			vg_budget_for(&r->s->budgets, r->peer, &b);
			rc = vg_keystore_create_quota(ks, r->owner, r->name, (vg_key_type)type,
						      (uint32_t)usage, b.keys);
			if (rc == VG_ERR_QUOTA) {
				VG_IGNORE(vg_keystore_count(ks, r->owner, &n));
				(void)snprintf(r->why_buf, sizeof r->why_buf,
					       n >= b.keys
						   ? "quota exceeded: uid %u has %llu keys "
						     "(limit %u)"
						   : "quota exceeded: the device's storage is "
						     "nearly full (uid %u has %llu keys, limit %u)",
					       r->owner, (unsigned long long)n, b.keys);
				r->why = r->why_buf;
			}
			return rc;
		}
	case VG_OP_KEY_DELETE:
		return vg_keystore_delete(ks, r->owner, r->name);
	case VG_OP_KEY_INFO:
		rc = vg_keystore_info(ks, r->owner, r->name, &info);
		if (rc == VG_OK) {
			vg_msgb_text(&r->out, VG_A_NAME, r->name);
			vg_msgb_uint(&r->out, VG_A_TYPE, info.type);
			vg_msgb_uint(&r->out, VG_A_USAGE, info.usage);
			vg_msgb_uint(&r->out, VG_A_OWNER, info.owner_uid);
			vg_msgb_uint(&r->out, VG_A_CREATED, info.created);
		}
		return rc;
	case VG_OP_KEY_PUBLIC:
		rc = vg_keystore_public(ks, r->owner, r->name, true, &out, &out_len);
		if (rc == VG_OK)
			vg_msgb_text(&r->out, VG_A_PEM, (const char *)out);
		break;
	case VG_OP_KEY_SIGN:
		rc = vg_req_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN);
		if (rc == VG_OK)
			rc = sign_defer(r, NULL, data, len);
		return rc;
	case VG_OP_KEY_SIGN_DIGEST: {
		/* A digest made by the caller (the OpenSSL provider, TLS): its
		 * length is checked against the algorithm it names before the
		 * key is looked up; ECDSA keys only (keystore.h). */
		char alg[8];
		size_t want = 0;
		rc = vg_req_text(r, VG_A_DIGEST_ALG, alg, sizeof alg, true);
		if (rc == VG_OK && vg_keystore_digest_len(alg, &want) != VG_OK) {
			r->why = "unknown digest algorithm: sha256, sha384 or sha512";
			rc = VG_ERR_INVALID;
		}
		if (rc == VG_OK)
			rc = vg_req_bytes(r, VG_A_DATA, &data, &len, 64);
		if (rc == VG_OK && len != want) {
			r->why = "the digest's length does not match its algorithm";
			rc = VG_ERR_INVALID;
		}
		if (rc == VG_OK)
			rc = sign_defer(r, alg, data, len);
		return rc;
	}
	case VG_OP_KEY_DECAP:
		return kem_defer(r, false);
	case VG_OP_KEY_AUTH_ENCAP:
		return kem_defer(r, true);
	case VG_OP_KEY_VERIFY:
		rc = vg_req_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN);
		if (rc == VG_OK)
			rc = vg_req_bytes(r, VG_A_SIG, &sig, &sig_len, 1024);
		if (rc == VG_OK)
			rc = vg_keystore_verify(ks, r->owner, r->name, data, len, sig, sig_len);
		return rc;
	case VG_OP_KEY_ENCRYPT:
		rc = vg_req_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN);
		if (rc == VG_OK)
			rc = vg_keystore_encrypt(ks, r->owner, r->name, data, len, &out, &out_len);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_DATA, out, out_len);
		break;
	case VG_OP_KEY_DECRYPT:
		rc = vg_req_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN + 64);
		if (rc == VG_OK)
			rc = vg_keystore_decrypt(ks, r->owner, r->name, data, len, &out, &out_len);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_DATA, out, out_len);
		break;
	case VG_OP_KEY_MAC: {
		uint8_t mac[32];
		rc = vg_req_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN);
		if (rc == VG_OK)
			rc = vg_keystore_mac(ks, r->owner, r->name, data, len, mac);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_DATA, mac, sizeof mac);
		vg_wipe(mac, sizeof mac);
		return rc;
	}
	default:
		return VG_ERR_UNSUPPORTED;
	}
	vg_free(out, out_len);
	return rc;
}

vg_rc vg_op_key_list(vg_req *r)
{
	return list(r, true);
}

vg_rc vg_op_store_list(vg_req *r)
{
	return list(r, false);
}
