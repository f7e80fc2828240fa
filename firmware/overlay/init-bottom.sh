#!/bin/sh
# SettleGuard's read-only root (initramfs-tools init-bottom script, installed by
# `install.sh --overlay-root`). A guard is switched off by pulling the plug: its root
# filesystem stays read-only and every write to / goes to RAM, gone at the next boot. The
# guard's state lives on a filesystem of its own (/var/lib/settle-guard, in /etc/fstab),
# which is mounted as usual and survives.
#
# On when the root holds /etc/settle-guard/overlay-root; `settleguard.overlay=off` on the
# kernel command line (cmdline.txt on the boot partition) boots writable once, for updates.
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in
    prereqs) prereqs; exit 0 ;;
esac

# shellcheck disable=SC1091 # initramfs-tools' own, inside the initramfs
. /scripts/functions

read -r cmdline </proc/cmdline
case " $cmdline " in
    *" settleguard.overlay=off "*)
        log_warning_msg "settle-guard: root writable (settleguard.overlay=off)"
        exit 0
        ;;
esac
# shellcheck disable=SC2154 # rootmnt comes from initramfs-tools' init
[ -e "${rootmnt}/etc/settle-guard/overlay-root" ] || exit 0

fail() { # the root stays as it is: a guard that boots beats one that does not
    log_failure_msg "settle-guard: $1: root stays writable"
    exit 0
}
modprobe overlay 2>/dev/null || grep -qw overlay /proc/filesystems || fail "no overlay filesystem"
mkdir -p /run/settle-guard-root/lower /run/settle-guard-root/ram
# init-premount had it mounted read-only; remount only if something mounted it writable
if ! awk -v m="${rootmnt}" '$2 == m && $4 ~ /^ro(,|$)/ { found = 1 } END { exit !found }' /proc/mounts; then
    mount -o remount,ro "${rootmnt}" || fail "cannot make the root read-only"
fi
mount -t tmpfs -o mode=0755,size=25% settle-guard-ram /run/settle-guard-root/ram || fail "no tmpfs"
mkdir -p /run/settle-guard-root/ram/upper /run/settle-guard-root/ram/work
mount -o move "${rootmnt}" /run/settle-guard-root/lower || fail "cannot move the root"
if ! mount -t overlay -o lowerdir=/run/settle-guard-root/lower,upperdir=/run/settle-guard-root/ram/upper,workdir=/run/settle-guard-root/ram/work \
    settle-guard-root "${rootmnt}"; then
    mount -o move /run/settle-guard-root/lower "${rootmnt}"
    mount -o remount,rw "${rootmnt}"
    fail "overlay mount failed"
fi
# the root's own fstab line would remount the overlay: the read-only disk stays under it
log_success_msg "settle-guard: read-only root, writes go to RAM (the disk: /run/settle-guard-root/lower)"
exit 0
