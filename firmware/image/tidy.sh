#!/usr/bin/env bash
# What an image must not carry (build.sh, last in the chroot's life): the sources and
# wheels, package caches and lists, logs of the build, the build's own policy-rc.d and
# resolv.conf.
#   tidy.sh ROOT SRC
set -euo pipefail
root="$1" src="$2"
rm -rf "${root:?}$src"
rm -f "$root/usr/sbin/policy-rc.d"
# names from systemd-resolved, as its package set it up (build.sh copied the host's in)
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
rm -f "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
find "$root/var/log" -type f \( -name '*.log' -o -name 'lastlog' -o -name 'wtmp' -o -name 'btmp' \) -delete
rm -rf "$root"/tmp/* "$root"/var/tmp/* "$root"/root/.cache
