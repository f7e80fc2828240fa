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
# Only the shell and klibc's tools are certain here (Debian's initramfs has no busybox
# unless it is installed): no awk or grep, and klibc's mount wants device and folder.
root_dev="" root_opts=""
while read -r dev mnt _type opts _rest; do
    if [ "${mnt}" = "${rootmnt}" ]; then root_dev="${dev}" root_opts="${opts}"; fi
done </proc/mounts
[ -n "${root_dev}" ] || fail "the root is not mounted"
# init-premount had it mounted read-only; remount only if something mounted it writable
case "${root_opts}," in
    ro,*) ;;
    *) mount -o remount,ro "${root_dev}" "${rootmnt}" || fail "cannot make the root read-only" ;;
esac
modprobe -q overlay || true # built in, or the mount below says so
mkdir -p /run/settle-guard-root/lower /run/settle-guard-root/ram
mount -t tmpfs -o mode=0755,size=25% settle-guard-ram /run/settle-guard-root/ram || fail "no tmpfs"
mkdir -p /run/settle-guard-root/ram/upper /run/settle-guard-root/ram/work
mount -o move "${rootmnt}" /run/settle-guard-root/lower || fail "cannot move the root"
if ! mount -t overlay -o lowerdir=/run/settle-guard-root/lower,upperdir=/run/settle-guard-root/ram/upper,workdir=/run/settle-guard-root/ram/work \
    settle-guard-root "${rootmnt}"; then
    mount -o move /run/settle-guard-root/lower "${rootmnt}"
    mount -o remount,rw "${root_dev}" "${rootmnt}"
    fail "overlay mount failed"
fi
# the root's own fstab line would remount the overlay: the read-only disk stays under it
log_success_msg "settle-guard: read-only root, writes go to RAM (the disk: /run/settle-guard-root/lower)"
exit 0
