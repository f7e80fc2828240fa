#!/bin/sh
# SettleGuard's read-only root, first half (initramfs-tools init-premount script, installed
# by `install.sh --overlay-root`): the root is mounted read-only from the start. The "rw"
# that raspi-firmware puts in cmdline.txt would mount it writable, and a writable mount
# alone changes the disk (mount count, journal). init-bottom then lays the RAM over it.
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in
    prereqs) prereqs; exit 0 ;;
esac
# the hook copies the flag in when the initramfs is made with the overlay on
[ -e /conf/settle-guard-overlay ] || exit 0
read -r cmdline </proc/cmdline
case " $cmdline " in
    *" settleguard.overlay=off "*) exit 0 ;;
esac
echo "readonly=y" >>/conf/param.conf
