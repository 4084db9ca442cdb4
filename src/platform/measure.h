/*
 * measure.h - measuring platform components: files and block devices.
 *
 * Promise: the digest of exactly the first `size` bytes of a component.
 *  - A regular file must be exactly `size` bytes long: a longer or shorter
 *    file is VG_ERR_INTEGRITY (appended bytes are not "outside the image").
 *  - A block device must be at least `size` bytes; the bytes after the
 *    image (the rest of the partition) are not part of it.
 *  - Anything else (a directory, a FIFO, a socket) is VG_ERR_INVALID; a
 *    missing path is VG_ERR_NOT_FOUND; a read error VG_ERR_IO.
 * Sizes are 64-bit throughout (images over 4 GiB work).
 *
 * Two digests:
 *  - sha256: SHA-256 of the bytes (OpenSSL; streaming, 1 MiB reads);
 *  - merkle: a Merkle tree over fixed-size blocks, hashed by up to four
 *    threads in parallel, for large images:
 *      leaf_i = SHA-256(0x00 || block_i)   (the last block may be short;
 *                                           an empty image is one empty leaf)
 *      node   = SHA-256(0x01 || left || right)
 *    built level by level; an odd node at the end of a level moves up
 *    unchanged. The root is the digest. The size and block size are part
 *    of the signed manifest entry, so they are bound too.
 * The why string (if not NULL) receives one line saying what was wrong.
 */
#ifndef VG_PLATFORM_MEASURE_H
#define VG_PLATFORM_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

#define VG_MERKLE_MIN_BLOCK  4096u
#define VG_MERKLE_MAX_BLOCK  (16u << 20)
#define VG_MERKLE_MAX_LEAVES (1u << 22)
#define VG_MEASURE_WHY_LEN   160

/* The size of a regular file or block device (for manifest create). */
VG_NODISCARD vg_rc vg_measure_size(const char *path, uint64_t *size, char *why);

VG_NODISCARD vg_rc vg_measure_sha256(const char *path, uint64_t size, uint8_t out[32], char *why);

/* block_size: a power of two in [VG_MERKLE_MIN_BLOCK, VG_MERKLE_MAX_BLOCK],
 * and at most VG_MERKLE_MAX_LEAVES blocks. threads: 0 = up to 4, one
 * per online CPU. */
VG_NODISCARD vg_rc vg_measure_merkle(const char *path, uint64_t size, uint32_t block_size,
				     unsigned threads, uint8_t root[32], char *why);

/* The Merkle root of a buffer, the same tree (for tests and bundles). */
VG_NODISCARD vg_rc vg_merkle_buffer(const uint8_t *p, size_t len, uint32_t block_size,
				    uint8_t root[32]);

#endif
