// tuf_js.cjs - the independent TUF implementation for the update interop
// test (tests/integration/test_sfr426_tuf_interop.sh): tuf-js and
// @tufjs/models from the npm registry (versions pinned in package-lock.json;
// 2.x, which runs on Debian 12's Node 18).
//
//   node tuf_js.cjs make DIR
//       writes a repository with @tufjs/models: Ed25519 keys, consistent
//       snapshots, one target in targets.json and one in a delegated role
//       "firmware" (paths ["firmware/*"]): DIR/metadata, DIR/targets,
//       DIR/keys (the private keys, for the test only)
//   node tuf_js.cjs fetch METADATA_URL TARGETS_URL METADATA_DIR TARGET_DIR PATH
//       refreshes with tuf-js's Updater (METADATA_DIR/root.json trusted) and
//       downloads PATH into TARGET_DIR; exit 0 on success
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { canonicalize } = require('@tufjs/canonical-json');
const { Metadata, Root, Timestamp, Snapshot, Targets, Key, Signature, MetaFile, TargetFile } =
  require('@tufjs/models');

function newKey() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const keyJSON = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
  const keyID = crypto.createHash('sha256').update(canonicalize(keyJSON)).digest('hex');
  const key = new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: keyJSON.keyval });
  const signer = (data) =>
    new Signature({ keyID, sig: crypto.sign(null, data, privateKey).toString('hex') });
  return { key, keyID, signer };
}

function expires(days) {
  return new Date(Date.now() + days * 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function write(dir, name, md) {
  fs.writeFileSync(path.join(dir, name), JSON.stringify(md.toJSON(), null, 2));
  return Buffer.from(JSON.stringify(md.toJSON(), null, 2));
}

function addTarget(dir, tpath, bytes) {
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  const dest = path.join(dir, 'targets', path.dirname(tpath), `${sha}.${path.basename(tpath)}`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.writeFileSync(dest, bytes);
  return new TargetFile({ length: bytes.length, path: tpath, hashes: { sha256: sha } });
}

function make(dir) {
  const meta = path.join(dir, 'metadata');
  fs.mkdirSync(meta, { recursive: true });
  const k = { root: newKey(), timestamp: newKey(), snapshot: newKey(), targets: newKey(),
              firmware: newKey() };
  const root = new Root({ version: 1, specVersion: '1.0.31', expires: expires(365),
                          consistentSnapshot: true });
  for (const r of ['root', 'timestamp', 'snapshot', 'targets']) root.addKey(k[r].key, r);
  const rootMd = new Metadata(root);
  rootMd.sign(k.root.signer);
  write(meta, '1.root.json', rootMd);

  const { Delegations } = require('@tufjs/models/dist/delegations');
  const { DelegatedRole } = require('@tufjs/models/dist/role');
  const delegations = new Delegations({
    keys: { [k.firmware.keyID]: k.firmware.key },
    roles: { firmware: new DelegatedRole({ name: 'firmware', keyIDs: [k.firmware.keyID],
                                           threshold: 1, terminating: true,
                                           paths: ['firmware/*'] }) },
  });
  const targets = new Targets({ version: 1, specVersion: '1.0.31', expires: expires(90),
                                delegations });
  targets.addTarget(addTarget(dir, 'notes/release.txt', Buffer.from('release notes from tuf-js\n')));
  const targetsMd = new Metadata(targets);
  targetsMd.sign(k.targets.signer);
  write(meta, '1.targets.json', targetsMd);

  const fw = new Targets({ version: 1, specVersion: '1.0.31', expires: expires(90) });
  fw.addTarget(addTarget(dir, 'firmware/speaker.bin', Buffer.from('firmware built by tuf-js\n')));
  const fwMd = new Metadata(fw);
  fwMd.sign(k.firmware.signer);
  write(meta, '1.firmware.json', fwMd);

  const snapshot = new Snapshot({ version: 1, specVersion: '1.0.31', expires: expires(7),
    meta: { 'targets.json': new MetaFile({ version: 1 }),
            'firmware.json': new MetaFile({ version: 1 }) } });
  const snapshotMd = new Metadata(snapshot);
  snapshotMd.sign(k.snapshot.signer);
  const snapBytes = write(meta, '1.snapshot.json', snapshotMd);

  const timestamp = new Timestamp({ version: 1, specVersion: '1.0.31', expires: expires(1),
    snapshotMeta: new MetaFile({ version: 1, length: snapBytes.length,
      hashes: { sha256: crypto.createHash('sha256').update(snapBytes).digest('hex') } }) });
  const timestampMd = new Metadata(timestamp);
  timestampMd.sign(k.timestamp.signer);
  write(meta, 'timestamp.json', timestampMd);
}

async function fetchTarget(metaUrl, targetsUrl, metaDir, targetDir, tpath) {
  const { Updater } = require('tuf-js');
  const u = new Updater({ metadataBaseUrl: metaUrl, targetBaseUrl: targetsUrl,
                          metadataDir: metaDir, targetDir });
  await u.refresh();
  const info = await u.getTargetInfo(tpath);
  if (!info) throw new Error(`no target ${tpath}`);
  const out = await u.downloadTarget(info, path.join(targetDir, encodeURIComponent(tpath)));
  process.stdout.write(`tuf-js downloaded ${tpath} to ${out}\n`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'make' && args.length === 1) {
  make(args[0]);
} else if (mode === 'fetch' && args.length === 5) {
  fetchTarget(...args).catch((e) => { process.stderr.write(`tuf-js: ${e.message}\n`); process.exit(1); });
} else {
  process.stderr.write('usage: tuf_js.cjs make DIR | fetch META_URL TARGETS_URL META_DIR TARGET_DIR PATH\n');
  process.exit(2);
}
