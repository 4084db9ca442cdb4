#!/usr/bin/python3
# vgs_edit.py - edits an encrypted audio stream (include/voxguard/stream.h:
# a VGS1 header, then frames of 6-byte prefix + SFrame ciphertext) the way
# an attacker on the path would, for test_sfr428_n7_stream.sh.
#
#   vgs_edit.py IN OUT OP [ARGS]
#     count                    print the number of frames (OUT unused)
#     flip-header OFF          flip bit 0 of header byte OFF
#     flip-frame I OFF         flip bit 0 of byte OFF of frame I's ciphertext
#                              (after its 6-byte prefix); OFF -1: its last
#                              byte (the tag)
#     replay I                 frame I again right after itself
#     move I J                 frame I taken out and put at index J
#     drop I                   frame I removed
#     truncate                 the last (final) frame removed
#     splice OTHER             IN's header followed by OTHER's frames
#     oversize                 after frame 0, a frame whose length field
#                              says 1 MiB (and 64 bytes of it)
import sys


def parse(data):
    if data[:4] != b"VGS1":
        sys.exit("vgs_edit: not a VGS1 stream")
    h = int.from_bytes(data[5:7], "big")
    frames, off = [], h
    while off < len(data):
        n = int.from_bytes(data[off + 2:off + 6], "big")
        frames.append(bytearray(data[off:off + 6 + n]))
        off += 6 + n
    return bytearray(data[:h]), frames


def main():
    src, out, op = sys.argv[1], sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    with open(src, "rb") as f:
        hdr, frames = parse(f.read())
    if op == "count":
        print(len(frames))
        return
    if op == "flip-header":
        hdr[int(args[0])] ^= 1
    elif op == "flip-frame":
        i, off = int(args[0]), int(args[1])
        frames[i][off + 6 if off >= 0 else off] ^= 1
    elif op == "replay":
        i = int(args[0])
        frames.insert(i + 1, bytearray(frames[i]))
    elif op == "move":
        f = frames.pop(int(args[0]))
        frames.insert(int(args[1]), f)
    elif op == "drop":
        frames.pop(int(args[0]))
    elif op == "truncate":
        frames.pop()
    elif op == "splice":
        with open(args[0], "rb") as f:
            _, frames = parse(f.read())
    elif op == "oversize":
        big = bytearray([1, 0]) + (1 << 20).to_bytes(4, "big") + bytes(64)
        frames.insert(1, big)
    else:
        sys.exit("vgs_edit: unknown op " + op)
    with open(out, "wb") as f:
        f.write(bytes(hdr) + b"".join(bytes(x) for x in frames))


main()
