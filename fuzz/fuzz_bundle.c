/*
 * fuzz_bundle.c - libFuzzer harness for update bundles (SFR 4.2.6: a
 * bundle arrives from the network or a USB stick and is parsed before it
 * is trusted). Each input is a whole bundle file: vg_bundle_open() with a
 * fixed release key (the seed fuzz/corpus/bundle/valid.vgb is signed by
 * its private key, so the fuzzer reaches past the signature), then, when
 * it opens, every image is verified by vg_bundle_install() without a slot.
 * Nothing may crash, leak or hang; a refusal must say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "update/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* SubjectPublicKeyInfo (DER) of the P-256 key that signed the seed. */
static const uint8_t release_key[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
    0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
    0x42, 0x00, 0x04, 0x41, 0x76, 0xd9, 0xaf, 0x5b, 0xc2, 0x48, 0x23, 0x9a,
    0x6b, 0xc5, 0x82, 0x86, 0x20, 0xed, 0x0d, 0x1e, 0x9a, 0x06, 0x73, 0x2f,
    0xee, 0x07, 0x55, 0x95, 0x8c, 0xcd, 0xea, 0x48, 0xe6, 0xfd, 0x9e, 0x50,
    0xc0, 0x47, 0x94, 0x55, 0x49, 0xf1, 0xf2, 0x90, 0x03, 0xa6, 0xc3, 0x4e,
    0xee, 0x9f, 0xe0, 0x09, 0x23, 0x00, 0xaf, 0xf1, 0xca, 0x60, 0x35, 0x38,
    0x02, 0x42, 0xe0, 0x9e, 0x60, 0xad, 0x40,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512], why[VG_BUNDLE_WHY_LEN];
	vg_bundle_policy p = {.release_key = release_key,
			      .release_key_len = sizeof release_key,
			      .oem = "Acme",
			      .model = "Echo",
			      .hw_rev = "B2",
			      .min_security_version = 1};
	vg_bundle *b = NULL;
	FILE *f;
	int fd;

	(void)snprintf(path, sizeof path, "%s/vgfuzzbundle.XXXXXX",
		       getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	f = fdopen(fd, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
	why[0] = '\0';
	if (vg_bundle_open(&b, path, &p, why) == VG_OK) {
		for (size_t i = 0; i < vg_bundle_n_images(b); i++) {
			uint64_t written = 1;
			why[0] = '\0';
			if (vg_bundle_install(b, vg_bundle_image(b, i)->name, NULL, NULL, NULL,
					      &written, why) != VG_OK &&
			    !why[0])
				abort();
			if (written != 0) /* no slot: nothing may be written */
				abort();
		}
		vg_bundle_close(&b);
	} else if (!why[0]) {
		abort();
	}
	(void)unlink(path);
	return 0;
}
