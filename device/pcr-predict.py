#!/usr/bin/env python3
"""pcr-predict.py --firmware-log LOG --boot-dir DIR [--pcrs 0,2,4,7,9]:
the PCR values a device boots with from the files of DIR (what `make
image` measured: build-image/boot, or an update's), printed as
`voxguard pcr-policy sign` wants them: "PCR=SHA256 ...".

The OEM signs these for each release (docs/TPM2.md, "The root key sealed
to the measured boot"), before any device has booted it:
  - PCRs 0, 2 and 7 (the firmware's code, its drivers, the Secure Boot
    state) are the firmware's: replayed from LOG, the event log of one
    boot of this firmware on the reference device (device/firmware/);
  - PCR 4 (the boot manager's code) is LOG's events with the one EFI
    application the firmware starts replaced by DIR/BOOTX64.EFI's
    Authenticode hash (pesign), so a new GRUB is predicted too;
  - PCR 9 is what GRUB reads, in order: grub.cfg, voxguard.cfg, the
    kernel and the initrd (SHA-256 of each: GRUB's TPM module extends the
    file's digest), from zero.
PCR 8 (GRUB's commands with the boot counts in them) is not predicted:
it changes from boot to boot. Exits 1 when LOG lacks what a PCR needs."""
import argparse
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measuredboot import Failed, PCR9_FILES, grub_hash, main, read_log, sha256_file, sha256_of  # noqa: E402


def extend(pcr, digest):
    return hashlib.sha256(pcr + digest).digest()


def run():
    ap = argparse.ArgumentParser()
    ap.add_argument("--firmware-log", required=True)
    ap.add_argument("--boot-dir", required=True)
    ap.add_argument("--pcrs", default="0,2,4,7,9")
    args = ap.parse_args()
    pcrs = [int(x) for x in args.pcrs.split(",")]
    events, _ = read_log(args.firmware_log)
    grub = grub_hash(args.boot_dir)

    values = []
    for i in pcrs:
        v = bytes(32)
        if i == 9:
            for f in PCR9_FILES:
                v = extend(v, sha256_file(os.path.join(args.boot_dir, f)))
        elif 0 <= i <= 7:
            apps = 0
            for e in events:
                if e["PCRIndex"] != i or e["EventType"] == "EV_NO_ACTION":
                    continue
                d = sha256_of(e)
                if i == 4 and e["EventType"] == "EV_EFI_BOOT_SERVICES_APPLICATION":
                    d = grub
                    apps += 1
                v = extend(v, d)
            if i == 4 and apps != 1:
                raise Failed("the firmware log starts %d EFI applications, not one" % apps)
        else:
            raise Failed("PCR %d is not predicted (8 changes with every boot; 10-23 are not "
                         "the boot's)" % i)
        values.append("%d=%s" % (i, v.hex()))
    print(" ".join(values))


main("pcr-predict.py", run)
