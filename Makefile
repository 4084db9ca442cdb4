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

PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 300
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan build-fuzz check test test-asan fuzz-smoke demo bench fuzz install clean

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

test: build
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd build-asan && ctest --output-on-failure -j $(JOBS)

fuzz-smoke: build-fuzz
	sh scripts/fuzz.sh build-fuzz 20

check: test test-asan fuzz-smoke
	@echo "make check: all tests passed (release, ASan+UBSan, fuzz smoke)"

demo: build
	sh scripts/demo.sh build

bench: build
	sh scripts/bench.sh build

fuzz: build-fuzz
	sh scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

install: build
	DESTDIR=$(DESTDIR) cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-fuzz
