#!/bin/sh
# Set up odet on a Debian machine: install the build/test dependencies (as root,
# with apt-get), configure and build. Idempotent: quick when all is in place.
#
#   tools/bootstrap.sh            install deps + build (build/)
#   tools/bootstrap.sh --test     ... then run the whole test suite
#   tools/bootstrap.sh --werror   configure with -Werror (CI)
#   tools/bootstrap.sh --asan     also build build-asan/ with Address+UB sanitizers
#                                 and run the test suite there (with --test)
# ODET_WERROR=1 and ODET_ASAN=1 in the environment do what --werror and --asan
# do (CI runs the README's test command, `tools/bootstrap.sh --test`, so).
set -eu

cd "$(dirname "$0")/.."

run_tests=0
werror=false
[ "${ODET_WERROR:-0}" = 1 ] && werror=true
asan=${ODET_ASAN:-0}
for arg in "$@"; do
    case "$arg" in
    --test) run_tests=1 ;;
    --werror) werror=true ;;
    --asan) asan=1 ;;
    -h | --help)
        sed -n '2,12p' "$0"
        exit 0
        ;;
    *)
        echo "bootstrap: unknown option $arg" >&2
        exit 2
        ;;
    esac
done

PKGS="gcc libc6-dev pkg-config meson ninja-build libprotobuf-c-dev protobuf-c-compiler \
libonnx-dev libstb-dev check libonnx-testdata libcjson-dev"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "bootstrap: installing$missing"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
fi

setup() { # dir, extra meson args...
    dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" -Dwerror=$werror "$@" >/dev/null
    else
        meson setup "$dir" -Dwerror=$werror "$@"
    fi
    ninja -C "$dir"
}

setup build
if [ $asan = 1 ]; then
    setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
fi

if [ $run_tests = 1 ]; then
    meson test -C build --print-errorlogs
    if [ $asan = 1 ]; then
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            meson test -C build-asan --print-errorlogs --timeout-multiplier 4
    fi
fi
