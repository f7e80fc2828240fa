#!/usr/bin/env bash
# The Debian image's own system settings (build.sh; pi-gen's Raspberry Pi OS has its own):
# where its partitions are, wired network by DHCP, package sources with security updates,
# no root password and no SSH server (there is none to log in to: the guard is run from its
# web page), and a machine id made by each card at its first boot.
#   debian-system.sh ROOT MIRROR SUITE
set -euo pipefail
root="$1" mirror="$2" suite="$3"

cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main non-free-firmware
deb $mirror $suite-updates main non-free-firmware
deb http://deb.debian.org/debian-security $suite-security main non-free-firmware
SOURCES

# the partitions by label (build.sh makes them); the state partition is not "nofail": a
# guard without its settlement journal must not start on an empty one
cat >"$root/etc/fstab" <<'FSTAB'
# SettleGuard image: firmware, root, and the guard's state on a partition of its own
LABEL=RASPIROOT  /                     ext4  rw,noatime,errors=remount-ro  0 1
LABEL=RASPIFIRM  /boot/firmware        vfat  rw,noatime,umask=0022        0 2
LABEL=SGSTATE    /var/lib/settle-guard ext4  rw,noatime,commit=5          0 2
FSTAB
mkdir -p "$root/boot/firmware" "$root/var/lib/settle-guard"

# raspi-firmware writes cmdline.txt from here (install.sh turns its serial console off)
grep -q '^ROOTPART=' "$root/etc/default/raspi-firmware" 2>/dev/null ||
    echo 'ROOTPART="LABEL=RASPIROOT"' >>"$root/etc/default/raspi-firmware"

# the wired network (Pi 3/4 built in, a USB adapter on a Zero 2 W) by DHCP; names by
# systemd-resolved, and the guard's name on the LAN by avahi
mkdir -p "$root/etc/systemd/network"
cat >"$root/etc/systemd/network/50-wired.network" <<'NET'
[Match]
Name=eth* en*

[Network]
DHCP=yes
MulticastDNS=no
NET
chroot "$root" systemctl enable --quiet systemd-networkd.service systemd-resolved.service

# no password for root (locked) and no other account: nothing to log in to but the page
chroot "$root" passwd --lock root >/dev/null
# each card its own machine id, made at its first boot
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
