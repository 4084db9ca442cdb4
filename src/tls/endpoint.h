/*
 * endpoint.h - the endpoint policy's encoding and its strict parser
 * (SFR 4.2.7, 4.2.8; AVS 1.3). The public struct is vg_endpoint in
 * include/voxguard/tls.h; this is the one place that reads and writes it
 * as bytes, for the client library, the service and the tools.
 *
 * Encoding (version 1): one JSON object, keys sorted, no whitespace
 * (jansson's JSON_COMPACT | JSON_SORT_KEYS; strings are printable ASCII
 * with \n, \r, \t escaped, so the same policy always encodes to the same
 * bytes, and those bytes parse back):
 *
 *   {"ca":PEM,"client_cert":PEM,"client_key":NAME,"crl":PEM,"host":HOST,
 *    "legacy":BOOL,"min_tls":"1.2"|"1.3","name":NAME,"pins":[HEX64...],
 *    "port":1..65535,"revocation":"none"|"ocsp-stapled"|"ocsp"|"crl",
 *    "soft_fail":BOOL,"uids":[UID...],"units":[UNIT...],"v":1}
 *
 * Required: v, name, host, port, ca, revocation. The encoder always writes
 * every key but the three optional ones (client_cert, client_key, crl),
 * which it writes only when set. (Not canonjson.h's TUF form: that writes
 * control characters raw, and PEM text is full of newlines that no JSON
 * parser, jansson included, reads back.)
 *
 * The parser refuses, with a one-line reason: input larger than
 * VG_EP_MAX_JSON, anything but one object, duplicate or unknown keys,
 * wrong types (a real where an integer belongs, a string for a boolean),
 * out-of-range numbers, oversized strings and arrays (tls.h's limits),
 * host names that are neither RFC 1123 names nor IP literals, unit names
 * systemd would not accept (or that could break out of a quoted string),
 * duplicate uids, units or pins, text that is not printable ASCII, and
 * combinations that mean nothing (soft_fail without a revocation check, a
 * CRL without revocation "crl" or the reverse, a client certificate
 * without a client key, legacy with TLS 1.3 only). PEM fields must parse
 * as what they claim with OpenSSL: ca 1..VG_EP_MAX_CERTS certificates,
 * crl 1..VG_EP_MAX_CRLS CRLs, client_cert 1..VG_EP_MAX_CHAIN certificates
 * (a private key there is refused: keys stay in the service).
 */
#ifndef VG_TLS_ENDPOINT_H
#define VG_TLS_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/tls.h"

#define VG_EP_VERSION   1
#define VG_EP_MAX_JSON  (1024u * 1024u) /* one policy, encoded */
#define VG_EP_MAX_CERTS 64u             /* in ca */
#define VG_EP_MAX_CRLS  16u             /* in crl */
#define VG_EP_MAX_CHAIN 16u             /* in client_cert */
/* The list in the service (SFR 4.2.10: a fixed budget, whoever adds). */
#define VG_EP_MAX_COUNT  64u
#define VG_EP_MAX_STORED (4u * 1024u * 1024u) /* sealed bytes of the whole list */
/* A connection report's text (vg_endpoint_report). */
#define VG_EP_MAX_PEER   255u
#define VG_EP_MAX_REASON 255u

/* Encodes ep (checked first with vg_endpoint_validate) as above. *out is
 * malloc()ed and NUL-terminated (free()); *len excludes the NUL. */
VG_NODISCARD vg_rc vg_endpoint_to_json(const vg_endpoint *ep, char **out, size_t *len, char *why,
				       size_t why_len);

/* Parses one policy and validates it (vg_endpoint_validate). On success
 * *out owns its PEM strings (vg_endpoint_clear); on failure *out is
 * zeroed, nothing is held, and why says what is wrong. VG_ERR_TOO_LARGE
 * for input over VG_EP_MAX_JSON, VG_ERR_UNSUPPORTED for another "v",
 * VG_ERR_INVALID for everything else. */
VG_NODISCARD vg_rc vg_endpoint_from_json(const uint8_t *buf, size_t len, vg_endpoint *out,
					 char *why, size_t why_len);

/* The same parser and every rule but OpenSSL's parse of the PEM fields
 * (they are still bounded, printable text), for a policy that passed
 * vg_endpoint_from_json when it was added: what the service reads back
 * from its sealed store, and what the library reads from the service.
 * (Decoding a certificate costs OpenSSL 3 some 0.4 ms: a list of 64
 * endpoints of 64 certificates took 1.7 s of the service's event loop on
 * every `endpoint list` of any uid.) Whoever uses the certificates parses
 * them anyway (the channel builds its trust store from ca_pem). */
VG_NODISCARD vg_rc vg_endpoint_from_stored(const uint8_t *buf, size_t len, vg_endpoint *out,
					   char *why, size_t why_len);

/* A JSON array of up to VG_EP_MAX_COUNT policies (the output of `voxguard
 * endpoint list --json`; the netpolicy tools read it), with the same
 * rules for each and no name twice. *out is an array of *n, freed with
 * vg_endpoint_list_free(*out, *n). */
VG_NODISCARD vg_rc vg_endpoint_array_from_json(const uint8_t *buf, size_t len, vg_endpoint **out,
					       size_t *n, char *why, size_t why_len);

/* Every rule above on a policy built in C (the strings of the fixed
 * arrays must be NUL-terminated inside them). VG_OK or VG_ERR_INVALID. */
VG_NODISCARD vg_rc vg_endpoint_validate(const vg_endpoint *ep, char *why, size_t why_len);

/* Frees what ep holds (its PEM strings) and zeroes it; NULL is fine. */
void vg_endpoint_clear(vg_endpoint *ep);

/* A host as the policy accepts it: an RFC 1123 name (labels of 1..63
 * letters, digits and '-', not at either end; the last label not all
 * digits; at most VG_EP_MAX_HOST) or an IPv4 or IPv6 literal. */
bool vg_endpoint_host_valid(const char *host);
/* A systemd unit name: 1..VG_EP_MAX_UNIT of [A-Za-z0-9:_.@-], not starting
 * with '.' or '-', ending in .service, .scope or .slice. */
bool vg_endpoint_unit_valid(const char *unit);
/* Is uid listed for ep? */
bool vg_endpoint_lists_uid(const vg_endpoint *ep, uint32_t uid);

#endif
