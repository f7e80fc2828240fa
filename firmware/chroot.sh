# shellcheck shell=bash
# shellcheck disable=SC2154 # root, work, me and keep are the sourcing script's
# A Debian root in a folder, worked on with chroot: sourced by test-install.sh and
# image/build.sh, which set $root (the folder), $work (what cleanup removes), $me (the
# name in messages) and $keep (1: leave $work for a look afterwards). Gives them phase
# (a timed step) and fail.

phase_start=$SECONDS
phase() { # a step done: its name and its time since the last one
    printf '%s: %-46s %4d s\n' "$me" "$1" $((SECONDS - phase_start))
    phase_start=$SECONDS
}

fail() {
    echo "$me: FAILED: $*" >&2
    exit 1
}

in_root() {
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

api_mounts() { # what a chroot needs of the kernel; systemd-nspawn brings its own
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount --bind /dev "$root/dev"
    mount --bind /dev/pts "$root/dev/pts"
}

api_umounts() {
    local m
    for m in /dev/pts /dev /sys /proc; do umount "$root$m"; done
}

mounted_under_root() { awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts; }

unmount_and_remove() { # for an EXIT trap: innermost first, lazily if something holds a mount
    local m
    for m in $(mounted_under_root | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" || true
    done
    if [ -n "$(mounted_under_root)" ]; then
        # never rm -rf a tree with the host's /dev bound into it
        echo "$me: still mounted under $root, not removed:" >&2
        mounted_under_root >&2
    elif [ "${keep:-0}" = 1 ]; then
        echo "$me: kept $work"
    else
        rm -rf "$work"
    fi
}

no_daemons() { # no daemon starts from a package's postinst inside the chroot (Debian's way)
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
}

copy_repository() { # REPO DEST: the tracked and new files, as git sees them
    git -C "$1" ls-files -z --cached --others --exclude-standard |
        tar -C "$1" --create --null --no-recursion --ignore-failed-read --files-from=- -f - |
        tar -x -C "$2"
}
