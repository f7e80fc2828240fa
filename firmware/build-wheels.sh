#!/usr/bin/env bash
# Build the wheels install.sh installs from: SettleGuard and every dependency, so the
# appliance installs offline. Wheels with compiled parts (Pillow, cbor2) are for the machine
# and Python that build them: build on the target (a Pi, or inside the image's chroot) or on
# a machine of the same architecture and Python version (Debian 12 / Bookworm: 3.11).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
out="${1:-$here/wheels}"
python="${PYTHON:-python3}"

case "${1:-}" in
    -h | --help)
        echo "usage: $0 [DIR]   build SettleGuard's wheels into DIR (default: $here/wheels)"
        echo "  env PYTHON: the interpreter to build for (default python3)"
        exit 0
        ;;
esac

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

mkdir -p "$out"
# Only this version's wheel of our own package: install.sh picks the newest, and an old
# one lying about would only confuse a reader of the folder.
rm -f "$out"/settle_guard-*.whl
echo "build-wheels: building SettleGuard and its dependencies into $out"
"$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$out" "$repo"
count="$(find "$out" -maxdepth 1 -name '*.whl' | wc -l)"
size="$(du -sh "$out" | cut -f1)"
echo "build-wheels: $count wheels, $size in $out"
