"""measuredboot.py: what device/reference.py and device/pcr-predict.py
share about the device image's measured boot (docs/DEVICE.md, "Boot"):
reading a firmware event log (tpm2_eventlog), the SHA-256 digests of its
events and of files, GRUB's Authenticode hash (pesign), and the files GRUB
measures into PCR 9, in the order it reads them."""
import hashlib
import os
import subprocess
import sys

import yaml

# What GRUB reads, in order, with the names build-image.sh gives them in
# the boot directory (build-image/boot).
PCR9_FILES = ("grub.cfg", "voxguard.cfg", "vmlinuz", "initrd.img")


class Failed(Exception):
    """A check or an input that does not hold; the message says which."""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def read_log(path):
    """The log as tpm2_eventlog reads it: its events and its replay."""
    out = subprocess.run(["tpm2_eventlog", path], capture_output=True, text=True)
    if out.returncode != 0:
        raise Failed("tpm2_eventlog cannot read %s: %s" % (path, out.stderr.strip()))
    doc = yaml.safe_load(out.stdout) or {}
    return doc.get("events") or [], (doc.get("pcrs") or {}).get("sha256") or {}


def sha256_of(event):
    for d in event.get("Digests") or []:
        if d.get("AlgorithmId") == "sha256":
            return bytes.fromhex(d["Digest"])
    raise Failed("event %s has no SHA-256 digest" % event.get("EventNum"))


def grub_hash(boot_dir):
    """The Authenticode hash the firmware measures GRUB by (PCR 4)."""
    r = subprocess.run(["pesign", "-h", "-i", os.path.join(boot_dir, "BOOTX64.EFI")],
                       capture_output=True, text=True)
    if r.returncode != 0 or "hash:" not in r.stdout:
        raise Failed("pesign cannot hash BOOTX64.EFI: %s" % r.stderr.strip())
    return bytes.fromhex(r.stdout.split("hash:")[-1].strip())


def main(prog, fn):
    """Runs fn(); a Failed is one line on stderr and exit status 1."""
    try:
        fn()
    except Failed as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        sys.exit(1)
