// verify_psa_token.mjs - an independent check of voxguard's PSA attestation
// tokens (SFR 4.2.3, RFC 9783), written against the RFCs with nothing but
// Node's own crypto: its own CBOR reader, its own COSE Sig_structure, and
// OpenSSL-in-Node's ECDSA verify with IEEE P1363 (raw r||s) signatures.
//
//   node verify_psa_token.mjs TOKEN PUBKEY.pem NONCE_HEX
//
// Prints the claims as JSON and exits 0 when the token is a tagged
// COSE_Sign1 with protected header {1: -7}, a valid ES256 signature, the
// expected nonce, and an instance ID equal to 0x01 || SHA-256 of the key's
// uncompressed point; exits 1 otherwise (with the reason on stderr).
import { readFileSync } from 'node:fs';
import { createHash, createPublicKey, verify } from 'node:crypto';

function fail(why) {
  process.stderr.write(`verify_psa_token: ${why}\n`);
  process.exit(1);
}

// A strict reader for definite-length CBOR (RFC 8949).
function decode(buf) {
  let pos = 0;
  const need = (n) => { if (pos + n > buf.length) fail('truncated CBOR'); };
  function head() {
    need(1);
    const ib = buf[pos++];
    const major = ib >> 5, ai = ib & 31;
    let val;
    if (ai < 24) val = BigInt(ai);
    else if (ai === 24) { need(1); val = BigInt(buf[pos]); pos += 1; }
    else if (ai === 25) { need(2); val = BigInt(buf.readUInt16BE(pos)); pos += 2; }
    else if (ai === 26) { need(4); val = BigInt(buf.readUInt32BE(pos)); pos += 4; }
    else if (ai === 27) { need(8); val = buf.readBigUInt64BE(pos); pos += 8; }
    else fail(`indefinite length or reserved additional info ${ai}`);
    return [major, val];
  }
  function item(depth) {
    if (depth > 16) fail('nesting too deep');
    const [major, v] = head();
    const n = Number(v);
    switch (major) {
      case 0: return v;
      case 1: return -1n - v;
      case 2: need(n); pos += n; return buf.subarray(pos - n, pos);
      case 3: need(n); pos += n; return buf.subarray(pos - n, pos).toString('utf8');
      case 4: { const a = []; for (let i = 0; i < n; i++) a.push(item(depth + 1)); return a; }
      case 5: {
        const m = new Map();
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          const key = typeof k === 'bigint' ? k : JSON.stringify(k);
          if (m.has(key)) fail('duplicate map key');
          m.set(key, item(depth + 1));
        }
        return m;
      }
      case 6: return { tag: v, value: item(depth + 1) };
      case 7:
        if (v === 20n) return false;
        if (v === 21n) return true;
        if (v === 22n) return null;
        fail(`unsupported simple value ${v}`);
    }
    return undefined;
  }
  const out = item(0);
  if (pos !== buf.length) fail('trailing bytes after the token');
  return out;
}

// The COSE Sig_structure (RFC 9052 section 4.4), encoded here by hand.
function encHead(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  if (n < 65536) { const b = Buffer.alloc(3); b[0] = (major << 5) | 25; b.writeUInt16BE(n, 1); return b; }
  const b = Buffer.alloc(5); b[0] = (major << 5) | 26; b.writeUInt32BE(n, 1); return b;
}
const bstr = (b) => Buffer.concat([encHead(2, b.length), b]);
const tstr = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([encHead(3, b.length), b]); };

const [tokenPath, keyPath, nonceHex] = process.argv.slice(2);
if (!tokenPath || !keyPath || !nonceHex) fail('usage: TOKEN PUBKEY.pem NONCE_HEX');
const token = readFileSync(tokenPath);
const key = createPublicKey(readFileSync(keyPath));
if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails.namedCurve !== 'prime256v1') fail('not a P-256 key');

const top = decode(token);
if (!top || top.tag !== 18n) fail('not a tagged COSE_Sign1 (tag 18)');
const [prot, unprot, payload, sig] = top.value;
if (!Buffer.isBuffer(prot) || !(unprot instanceof Map) || !Buffer.isBuffer(payload) || !Buffer.isBuffer(sig)) fail('bad COSE_Sign1 structure');
const ph = decode(prot);
if (!(ph instanceof Map) || ph.get(1n) !== -7n) fail('protected header does not say ES256 (1: -7)');
if (sig.length !== 64) fail(`ES256 signature must be 64 bytes r||s, got ${sig.length}`);

const tbs = Buffer.concat([encHead(4, 4), tstr('Signature1'), bstr(prot), bstr(Buffer.alloc(0)), bstr(payload)]);
if (!verify('sha256', tbs, { key, dsaEncoding: 'ieee-p1363' }, sig)) fail('bad signature');

const claims = decode(payload);
if (!(claims instanceof Map)) fail('claims are not a map');
const hex = (b) => Buffer.from(b).toString('hex');
const nonce = claims.get(10n);
if (!Buffer.isBuffer(nonce) || hex(nonce) !== nonceHex.toLowerCase()) fail('nonce mismatch');
const jwk = key.export({ format: 'jwk' });
const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
const ueid = Buffer.concat([Buffer.from([1]), createHash('sha256').update(point).digest()]);
const iid = claims.get(256n);
if (!Buffer.isBuffer(iid) || !iid.equals(ueid)) fail('instance ID is not 0x01 || SHA-256(public point)');
const profile = claims.get(265n);
if (profile !== 'tag:psacertified.org,2023:psa#tfm') fail(`unexpected profile ${profile}`);
const clientId = claims.get(2394n);
if (typeof clientId !== 'bigint' || clientId === 0n) fail('client ID missing or zero');
const lifecycle = claims.get(2395n);
if (typeof lifecycle !== 'bigint') fail('lifecycle missing');
const impl = claims.get(2396n);
if (!Buffer.isBuffer(impl) || impl.length !== 32) fail('implementation ID missing or not 32 bytes');
const seed = claims.get(268n);
if (!Buffer.isBuffer(seed) || seed.length < 8 || seed.length > 32) fail('boot seed (claim 268) missing or of a bad size');
const sw = claims.get(2399n);
if (!Array.isArray(sw) || sw.length < 1) fail('software components missing');
const components = sw.map((c) => {
  if (!(c instanceof Map) || !Buffer.isBuffer(c.get(2n))) fail('a software component has no measurement');
  return { measurement_type: c.get(1n), measurement_value: hex(c.get(2n)), version: c.get(4n), signer_id: c.get(5n) ? hex(c.get(5n)) : undefined };
});
process.stdout.write(JSON.stringify({
  verified_by: `node ${process.version} crypto`,
  profile, nonce: hex(nonce), instance_id: hex(iid), implementation_id: hex(impl),
  client_id: Number(clientId), lifecycle: Number(lifecycle), boot_seed: hex(seed),
  verification_service: claims.get(2400n), components,
}) + '\n');
