#!/usr/bin/env python3
"""reference.py PLATFORM.JSON [--event-log LOG --boot-dir DIR --slot a|b]:
reference values for `voxguard verify-token --reference`
(docs/ATTESTATION.md), made on the host from what the image was built
with (device/build-image.sh), not from anything the device says.

Each component of the signed platform manifest becomes one reference
entry: its name as the measurement type, its version, its SHA-256 (the
Merkle root for large files, as the manifest has it) and the release
key's signer ID. The manifest itself is one more component
(platform-manifest): the SHA-256 of the file, at the platform's version.

With --event-log (the firmware's TPM event log the device gives,
/sys/kernel/security/tpm0/binary_bios_measurements), the measured boot
too, PCRs 0-9 (the device's attest_pcrs). The log is the device's word, so
it is first checked event by event against the image (--boot-dir: what
`make image` measured, build-image/boot):
  - PCR 4: the one EFI application the firmware started is GRUB, by its
    Authenticode hash (pesign);
  - PCR 8: GRUB's commands, and the kernel command line is the one the
    image gives slot --slot (cmdline-a or cmdline-b);
  - PCR 9: exactly the files GRUB read, in order: grub.cfg, voxguard.cfg,
    the kernel, the initrd (SHA-256 of each);
  - nothing measured into PCRs 10-23 before the kernel.
The PCR values it replays to (tpm2_eventlog) become the reference entries
PCR0 ... PCR9, each with an all-zero signer ID (the token's, for a
register). verify-token then holds the token's PCRs, which the TPM signed
through the service's attestation key, to exactly these values: a log that
does not replay to what the TPM holds, or a boot that loaded anything
else, fails. PCRs 0-3 and 5-7 are the firmware's own (its code, its
settings, the disk's partition table, the Secure Boot state); a product's
verifier takes their values from the firmware vendor's reference manifest
(OVMF has none), here they are the replay's, checked for the kinds of
event a UEFI firmware logs.
Exits 1, naming the first event that does not match."""
import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measuredboot import Failed, PCR9_FILES, grub_hash, main, read_log, sha256_file, sha256_of  # noqa: E402

FIRMWARE_EVENTS = {
    "EV_NO_ACTION", "EV_SEPARATOR", "EV_S_CRTM_VERSION", "EV_POST_CODE",
    "EV_EFI_PLATFORM_FIRMWARE_BLOB", "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
    "EV_EFI_VARIABLE_DRIVER_CONFIG", "EV_EFI_VARIABLE_BOOT",
    "EV_EFI_VARIABLE_AUTHORITY", "EV_EFI_BOOT_SERVICES_DRIVER",
    "EV_EFI_RUNTIME_SERVICES_DRIVER", "EV_EFI_GPT_EVENT", "EV_EFI_ACTION",
    "EV_EFI_HANDOFF_TABLES", "EV_EFI_HANDOFF_TABLES2", "EV_TABLE_OF_DEVICES",
    "EV_PLATFORM_CONFIG_FLAGS", "EV_NONHOST_INFO", "EV_OMIT_BOOT_DEVICE_EVENTS",
    "EV_EFI_BOOT_SERVICES_APPLICATION",
}


def fail(msg):
    raise Failed(msg)


def event_string(event):
    """The text of an EV_IPL event as tpm2_eventlog shows it: quoted, with
    its NUL spelled \\0."""
    ev = event.get("Event")
    s = ev.get("String") if isinstance(ev, dict) else None
    if not isinstance(s, str):
        return None
    if s.startswith('"') and s.endswith('"'):
        s = s[1:-1]
    return s[:-2] if s.endswith("\\0") else s


def measured_boot(log, boot, slot):
    events, replay = read_log(log)
    by_pcr = {}
    for e in events:
        by_pcr.setdefault(e["PCRIndex"], []).append(e)

    # PCR 4: the boot manager's code. The firmware's actions and
    # separators, and one application: GRUB.
    apps = [e for e in by_pcr.get(4, []) if e["EventType"] == "EV_EFI_BOOT_SERVICES_APPLICATION"]
    want = grub_hash(boot)
    if len(apps) != 1 or sha256_of(apps[0]) != want:
        fail("PCR 4: the firmware started %s, not the image's GRUB (%s)" %
             ([sha256_of(a).hex() for a in apps], want.hex()))
    for e in by_pcr.get(4, []):
        if e["EventType"] not in ("EV_EFI_ACTION", "EV_SEPARATOR", "EV_EFI_BOOT_SERVICES_APPLICATION"):
            fail("PCR 4: unexpected event %s (%s)" % (e["EventNum"], e["EventType"]))

    # PCR 8: GRUB's commands and the kernel command line, nothing else.
    with open(os.path.join(boot, "cmdline-" + slot)) as f:
        cmdline = f.read().strip()
    lines = []
    for e in by_pcr.get(8, []):
        s = event_string(e)
        if e["EventType"] != "EV_IPL" or s is None or \
                not (s.startswith("grub_cmd: ") or s.startswith("kernel_cmdline: ")):
            fail("PCR 8: event %s is not a GRUB command" % e["EventNum"])
        # GRUB hashes the command (or command line) without its prefix.
        text = s.split(": ", 1)[1]
        if hashlib.sha256(text.encode()).digest() != sha256_of(e):
            fail("PCR 8: event %s's digest is not that of its text" % e["EventNum"])
        lines.append(s)
    got = [s[len("kernel_cmdline: "):] for s in lines if s.startswith("kernel_cmdline: ")]
    if got != [cmdline]:
        fail("PCR 8: the kernel command line was %s, the image gives slot %s %r" %
             (got, slot, cmdline))

    # PCR 9: the files GRUB read, in order.
    files = PCR9_FILES
    want9 = [sha256_file(os.path.join(boot, f)) for f in files]
    got9 = [sha256_of(e) for e in by_pcr.get(9, [])]
    if got9 != want9 or any(e["EventType"] != "EV_IPL" for e in by_pcr.get(9, [])):
        names = {h: f for h, f in zip(want9, files)}
        fail("PCR 9: GRUB read %s, the image has %s" %
             ([names.get(h, "unknown " + h.hex()[:16]) for h in got9], list(files)))

    # The firmware's PCRs: only the kinds of event a UEFI firmware logs.
    for i in (0, 1, 2, 3, 5, 6, 7):
        for e in by_pcr.get(i, []):
            if e["EventType"] not in FIRMWARE_EVENTS:
                fail("PCR %d: unexpected event %s (%s)" % (i, e["EventNum"], e["EventType"]))
    for i in by_pcr:
        if i > 9:
            fail("PCR %d: measured before the kernel (event %s)" % (i, by_pcr[i][0]["EventNum"]))

    out = []
    for i in range(10):
        v = replay.get(i)
        if v is None:
            fail("the event log replays to no SHA-256 value for PCR %d" % i)
        v = "%064x" % v if isinstance(v, int) else str(v).lower().removeprefix("0x")
        out.append({"measurement_type": "PCR%d" % i, "measurement_value": v,
                    "signer_id": "00" * 32})
    return out


def run():
    ap = argparse.ArgumentParser()
    ap.add_argument("platform")
    ap.add_argument("--event-log")
    ap.add_argument("--boot-dir")
    ap.add_argument("--slot", default="a", choices=["a", "b"])
    args = ap.parse_args()

    with open(args.platform, "rb") as f:
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
    if args.event_log:
        if not args.boot_dir:
            fail("--event-log needs --boot-dir")
        out += measured_boot(args.event_log, args.boot_dir, args.slot)
    json.dump({"components": out}, sys.stdout, indent=1)
    print()


main("reference.py", run)
