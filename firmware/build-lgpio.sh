#!/usr/bin/env bash
# lgpio's wheel, compiled on the machine it is for (the image's arm64 root, under emulation
# on an amd64 build machine) from the source build-wheels.sh fetched with its sha256
# checked (firmware/source-builds.txt). The compiler and headers it installs go again.
#   build-lgpio.sh WHEELS    WHEELS: the folder with lgpio-VERSION.tar.gz; the wheel goes there
# Run by image/steps.sh where the archive has no python3-lgpio (Debian bookworm).
set -euo pipefail
wheels="$1"
export DEBIAN_FRONTEND=noninteractive
source="$(find "$wheels" -maxdepth 1 -name 'lgpio-*.tar.gz' | sort -V | tail -n 1)"
[ -n "$source" ] || { echo "build-lgpio: no lgpio-*.tar.gz in $wheels" >&2; exit 1; }
setuptools="$(find "$wheels" -maxdepth 1 -name 'setuptools-*.whl' | sort -V | tail -n 1)"
[ -n "$setuptools" ] || { echo "build-lgpio: no setuptools wheel in $wheels" >&2; exit 1; }

installed() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" { print $2 }' | sort; }
build="$(mktemp -d)"
installed >"$build/before"
cleanup() { # exactly the packages this script brought (autoremove alone left binutils)
    local brought
    installed >"$build/after"
    mapfile -t brought < <(comm -13 "$build/before" "$build/after")
    if [ ${#brought[@]} -gt 0 ]; then
        apt-get purge -y -qq "${brought[@]}" >/dev/null
    fi
    rm -rf "$build"
}
trap cleanup EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends gcc libc6-dev python3-dev swig >/dev/null
# a venv of its own: the pinned setuptools, no download (the build has no index to ask)
python3 -m venv "$build/venv"
"$build/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$setuptools"
# PYPI=1: lgpio's C library compiled into the module, so nothing else has to be installed
PYPI=1 "$build/venv/bin/pip" wheel --quiet --disable-pip-version-check --no-index \
    --no-build-isolation --no-deps --wheel-dir "$wheels" "$source"
rm -f -- "$source"
echo "build-lgpio: $(basename "$(find "$wheels" -maxdepth 1 -name 'lgpio-*.whl' | sort -V | tail -n 1)")"
