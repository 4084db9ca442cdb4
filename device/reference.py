#!/usr/bin/env python3
"""reference.py PLATFORM.JSON: reference values for `voxguard verify-token
--reference` (docs/ATTESTATION.md), made on the host from the signed
platform manifest the image was built with (device/build-image.sh), not
from anything the device says. Each manifest component becomes one
reference entry: its name as the measurement type, its version, its
SHA-256 (the Merkle root for large files, as the manifest has it) and the
release key's signer ID. The manifest itself is one more component
(platform-manifest): the SHA-256 of the file, at the platform's version."""
import hashlib
import json
import sys

with open(sys.argv[1], "rb") as f:
    raw = f.read()
signed = json.loads(raw)["signed"]
out = []
for c in signed["components"]:
    e = {"measurement_type": c["name"], "measurement_value": c["sha256"],
         "signer_id": c["signer"]}
    if c.get("version"):
        e["version"] = c["version"]
    out.append(e)
if signed["components"]:
    out.append({"measurement_type": "platform-manifest",
                "measurement_value": hashlib.sha256(raw).hexdigest(),
                "signer_id": signed["components"][0]["signer"],
                "version": signed["version"]})
json.dump({"components": out}, sys.stdout, indent=1)
print()
