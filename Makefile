# voxguard - top-level entry points. CMake does the building; this file
# installs what is missing (scripts/install-deps.sh) and wires the steps.
#
#   make          build (build/)
#   make demo     build and show the main job end to end (file root of trust)
#   make check    build, run every test, then again under ASan+UBSan, and
#                 a short run of every fuzz target on its seed corpus
#   make bench    benchmarks, printed as ratios against in-run baselines
#   make fuzz     longer fuzzing (FUZZ_SECONDS per target, default 300)
#   make install  DESTDIR=... PREFIX=/usr
#   make deb      Debian packages in build-deb/ (docs/DEVICE.md), rebuilt
#                 only when a source file changed
#   make sbom     the packages' SPDX 2.3 SBOM, build-deb/voxguard.spdx.json,
#                 validated (docs/EVIDENCE.md; AVS 1.13, 1.17)
#   make evidence the Security Target in build/evidence/ (ST.md, ST.html)
#                 from docs/REQUIREMENTS.md, the last test results and
#                 PRODUCT (default evidence/product.example.json;
#                 docs/EVIDENCE.md): run make check first; EVIDENCE_PDF=1
#                 also prints ST.pdf with chromium
#   make image    the x86_64 device image in build-image/ (docs/DEVICE.md):
#                 Debian 12 with the packages, GRUB A/B slots, a TPM
#   make device-test   boot it in QEMU and play a device's life (in check)
#   make device-shell  boot it with a root console on this terminal
#   make cross-arm64  arm64 cross build in build-arm64/ with Debian's cross
#                 toolchain (installs it: install-deps.sh --cross-arm64),
#                 binaries checked, unit tests run under qemu-user; not part
#                 of make check (docs/DEVICE.md, "Cross builds, Yocto and
#                 Buildroot", which also covers integration/yocto and
#                 integration/buildroot, checked by make check)

PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 300
CMAKE_FLAGS ?=

IMAGE_DIR ?= build-image
IMAGE_VARIANT ?= test

.PHONY: all deps build build-asan build-fuzz check test test-asan fuzz-smoke demo bench fuzz install deb sbom evidence image image-product device-test device-shell cross-arm64 clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j $(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVG_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build-asan -j $(JOBS)

build-fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DVG_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build-fuzz -j $(JOBS)

# Each run leaves its results in junit.xml and the commit it tested in
# junit.commit (-dirty when the tree differs from it), for make evidence.
JUNIT_COMMIT = c=$$(git rev-parse HEAD 2>/dev/null || echo unknown); [ -z "$$(git status --porcelain 2>/dev/null)" ] || c=$$c-dirty; echo $$c

# The package test (tests/integration/test_deb.sh) reads build-deb/.
test: build deb
	rm -f build/junit.xml; ($(JUNIT_COMMIT)) > build/junit.commit
	cd build && ctest --output-on-failure -j $(JOBS) --output-junit junit.xml

test-asan: build-asan
	rm -f build-asan/junit.xml; ($(JUNIT_COMMIT)) > build-asan/junit.commit
	cd build-asan && ctest --output-on-failure -j $(JOBS) --output-junit junit.xml

fuzz-smoke: build-fuzz
	sh scripts/fuzz.sh build-fuzz 20

check: test test-asan fuzz-smoke device-test
	@echo "make check: all tests passed (release, ASan+UBSan, fuzz smoke, device)"

demo: build
	sh scripts/demo.sh build

bench: build image
	sh scripts/bench.sh build

fuzz: build-fuzz
	sh scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

install: build
	DESTDIR=$(DESTDIR) cmake --install build --prefix $(PREFIX)

# What the package is built from: the files git tracks or would track.
# Not the device image's files (device/): they go into the image, not the
# packages.
DEB_INPUTS := $(filter-out device/%,$(wildcard $(shell git ls-files --cached --others --exclude-standard 2>/dev/null)))

deb: deps build-deb/voxguard.stamp

build-deb/voxguard.stamp: $(DEB_INPUTS)
	sh scripts/build-deb.sh build-deb
	touch $@

# Debian's python3, which has python3-jsonschema and -license-expression.
PY := $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)

sbom: deb
	$(PY) scripts/sbom.py --deb-dir build-deb -o build-deb/voxguard.spdx.json
	$(PY) scripts/sbom.py --check build-deb/voxguard.spdx.json

# The Security Target (docs/EVIDENCE.md): a requirement is claimed only if
# all its tests passed in the results of the last make check.
PRODUCT ?= evidence/product.example.json
EVIDENCE_DIR ?= build/evidence

evidence:
	python3 scripts/evidence.py --product $(PRODUCT) --out $(EVIDENCE_DIR) $(if $(EVIDENCE_PDF),--pdf) \
		$(foreach j,$(wildcard build/junit.xml build-asan/junit.xml),--junit $(j))

# At most 2 jobs whatever JOBS says (scripts/cross-arm64.sh).
cross-arm64:
	JOBS=$(JOBS) sh scripts/cross-arm64.sh build-arm64

# The device image (device/): rebuilt when its inputs changed, the Debian
# base system cached in $(IMAGE_DIR)/base-*/.
image: build deb
	sh device/build-image.sh $(IMAGE_DIR) $(IMAGE_VARIANT)

# The image as it ships (no guest agent, no console shell), built beside the
# test image with the same base and keys (docs/DEVICE.md, "The product image").
image-product: image
	VG_IMAGE_SHARED=$(IMAGE_DIR) sh device/build-image.sh $(IMAGE_DIR)/product product

device-test: image image-product
	sh device/device-test.sh $(IMAGE_DIR)
	sh device/product-test.sh $(IMAGE_DIR)/product

device-shell: image
	sh device/shell.sh $(IMAGE_DIR)

clean:
	rm -rf build build-asan build-fuzz build-deb build-image build-arm64
