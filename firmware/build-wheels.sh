#!/usr/bin/env bash
# Build the wheels install.sh installs from: SettleGuard and every dependency, so the
# appliance installs offline, at the versions pinned in firmware/constraints.txt.
#
# For this machine (the default) pip builds or fetches wheels for its own Python. For
# another architecture (--arch aarch64: a Raspberry Pi's 64-bit Debian/Raspberry Pi OS,
# Python 3.11) pip fetches the released binary wheels for that platform; SettleGuard's own
# wheel is pure Python and built here. A dependency without such a wheel is an error that
# names it (build on the target instead, or inside the image's chroot).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
constraints="$here/constraints.txt"
python="${PYTHON:-python3}"
out=""
arch=""

usage() {
    echo "usage: $0 [--arch aarch64] [DIR]   build SettleGuard's wheels into DIR (default: $here/wheels)"
    echo "  --arch aarch64   wheels for a 64-bit Raspberry Pi (Python 3.11), whatever this machine is"
    echo "  env PYTHON: the interpreter to build with (default python3)"
}

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --arch)
            [ $# -ge 2 ] || { echo "build-wheels: --arch needs a value (aarch64)" >&2; exit 2; }
            arch="$2"
            shift
            ;;
        -*) echo "build-wheels: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) out="$1" ;;
    esac
    shift
done
case "$arch" in
    "" | "$(uname -m)") arch="" ;;
    aarch64) ;;
    *) echo "build-wheels: --arch '$arch': only aarch64 (or this machine's $(uname -m))" >&2; exit 2 ;;
esac
out="${out:-$here/wheels}"

if ! "$python" -m pip --version >/dev/null 2>&1; then
    # Debian's python3 has no pip of its own: build from a throwaway venv instead.
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$python" -m venv "$tmp/venv" || {
        echo "build-wheels: $python has neither pip nor venv: apt-get install python3-venv" >&2
        exit 1
    }
    python="$tmp/venv/bin/python"
fi
pip=("$python" -m pip --disable-pip-version-check)

mkdir -p "$out"
# Only this version's wheel of our own package: install.sh picks the newest, and an old
# one lying about would only confuse a reader of the folder.
rm -f "$out"/settle_guard-*.whl
if [ -z "$arch" ]; then
    echo "build-wheels: building SettleGuard and its dependencies into $out"
    "${pip[@]}" wheel --quiet --constraint "$constraints" --wheel-dir "$out" "$repo"
else
    echo "build-wheels: SettleGuard and its dependencies for $arch (Python 3.11) into $out"
    "${pip[@]}" wheel --quiet --no-deps --wheel-dir "$out" "$repo"
    # the pins are the requirements: every one of them, and nothing else
    if ! "${pip[@]}" download --quiet --no-deps --only-binary=:all: --dest "$out" \
        --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none \
        --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 \
        --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 \
        --requirement "$constraints"; then
        echo "build-wheels: a pinned package has no released $arch wheel for Python 3.11 (above)" >&2
        exit 1
    fi
    # the packages with no wheel for a Pi: their pinned sources, compiled in the image's root
    if ! "${pip[@]}" download --quiet --no-deps --no-binary=:all: --require-hashes --dest "$out" \
        --requirement "$here/source-builds.txt"; then
        echo "build-wheels: a source in firmware/source-builds.txt could not be fetched, or its sha256 differs" >&2
        exit 1
    fi
fi
count="$(find "$out" -maxdepth 1 -name '*.whl' | wc -l)"
size="$(du -sh "$out" | cut -f1)"
echo "build-wheels: $count wheels, $size in $out"
