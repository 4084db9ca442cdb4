# CMake toolchain file: voxguard for arm64 (aarch64-linux-gnu) with
# Debian 12's cross toolchain (crossbuild-essential-arm64) and the arm64
# multiarch -dev packages (/usr/lib/aarch64-linux-gnu), as
# scripts/cross-arm64.sh and `make cross-arm64` use it:
#
#   cmake -S . -B build-arm64 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
#
# The unit tests run under qemu-user: add_test() prefixes every test whose
# command is a target with CMAKE_CROSSCOMPILING_EMULATOR, so plain `ctest`
# runs them with qemu-aarch64, with or without binfmt_misc.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(VG_CROSS_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${VG_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${VG_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${VG_CROSS_TRIPLET})

# Debian's multiarch layout: the arm64 libraries and .pc files live beside
# the build machine's (/usr/lib/aarch64-linux-gnu), the C library's cross
# copy in /usr/aarch64-linux-gnu. Programs are the build machine's.
set(CMAKE_FIND_ROOT_PATH /usr/${VG_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config reads only the arm64 .pc files (and arch-independent ones),
# never the build machine's. VG_CROSS_PKG_CONFIG_PATH adds directories
# searched first: cross-arm64.sh puts there the -dev packages Debian 12
# cannot co-install for two architectures (libwebsockets-dev, whose
# lws_config.h differs per architecture), unpacked into build-arm64/deps/.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${VG_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
# try_compile() reads this file again in the same process (ENV is shared):
# hand it the same variable, so that it sets the same path.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES VG_CROSS_PKG_CONFIG_PATH)
if(VG_CROSS_PKG_CONFIG_PATH)
  set(ENV{PKG_CONFIG_PATH} "${VG_CROSS_PKG_CONFIG_PATH}")
endif()

# qemu-user runs the target's programs: qemu-aarch64 from qemu-user, or
# qemu-aarch64-static from qemu-user-static (Debian 12 names it so), named
# explicitly so that no binfmt_misc registration is needed. With Debian's
# multiarch libc6:arm64 installed (the -dev packages bring it), the arm64
# dynamic loader is where the programs look for it
# (/lib/ld-linux-aarch64.so.1) and qemu needs nothing more; without it, -L
# points qemu at the cross C library. Not -L always: Debian 12's qemu 7.2
# with -L hangs the child of every fork() (a spinning child that never
# makes a system call; test_cli_io's and test_audit's forks showed it).
find_program(VG_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(VG_QEMU_AARCH64)
  if(EXISTS /lib/ld-linux-aarch64.so.1)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${VG_QEMU_AARCH64})
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${VG_QEMU_AARCH64} -L /usr/${VG_CROSS_TRIPLET})
  endif()
endif()
