#!/usr/bin/env bash
# make image: a SettleGuard image for Raspberry Pi 3, 4 and Zero 2 W (64-bit), built from
# Debian bookworm's own arm64 packages (linux-image-arm64, raspi-firmware) on any Debian
# machine, as root: debootstrap (under qemu-user-static on an amd64 machine), the same
# steps as the pi-gen stage (firmware/image/steps.sh: install.sh from locally built
# wheels), then the partitions made from folders (mkfs.vfat + mtools, mkfs.ext4 -d) and
# put together with sfdisk: no loop device and no mount of the image.
#
#   sudo firmware/image/build.sh             (make image)
#   OUT=DIR                                  where the image goes (default build/image)
#   OVERLAY=0                                a writable root (default: read-only root)
#   MIRROR=http://...                        another Debian mirror
#   KEEP=1                                   keep the work folder (the root) afterwards
#
# Writes OUT/settleguard-VERSION-arm64.img (for make image-test), .img.xz and its .sha256,
# and .manifest (every Debian package and Python package with its version).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$(dirname "$HERE")")"
OUT="${OUT:-$REPO/build/image}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
OVERLAY="${OVERLAY:-1}"
version="$(sed -n 's/^ *version="\([^"]*\)",$/\1/p' "$REPO/setup.py")"
name="settleguard-$version-arm64"
# Partitions: the firmware (FAT, what the Pi's boot ROM reads), the root, the guard's state.
# Fixed labels and ids: cmdline.txt and fstab name them, and two builds match.
BOOT_MIB=256
STATE_MIB=256
DISK_ID=0x5e77e6d0
# The kernel and the Pi's firmware come last, so the initramfs is made once, with the
# read-only root's script in it.
KERNEL_PACKAGES=(linux-image-arm64 raspi-firmware)

[ "$(id -u)" -eq 0 ] || { echo "image: must run as root (debootstrap, chroot)" >&2; exit 1; }
for tool in debootstrap mkfs.vfat mcopy mkfs.ext4 sfdisk xz; do
    command -v "$tool" >/dev/null || {
        echo "image: $tool is missing: apt-get install debootstrap dosfstools mtools e2fsprogs fdisk xz-utils qemu-user-static" >&2
        exit 1
    }
done
[ -n "$version" ] || { echo "image: no version in $REPO/setup.py" >&2; exit 1; }
case "$OVERLAY" in 0 | 1) ;; *) echo "image: OVERLAY=$OVERLAY: use 0 or 1" >&2; exit 2 ;; esac

work="$(mktemp -d "${TMPDIR:-/var/tmp}/settleguard-image.XXXXXX")"
root="$work/root"
t0=$SECONDS
# shellcheck disable=SC2034 # me and keep are chroot.sh's
me=image keep="${KEEP:-0}"
# shellcheck source=firmware/chroot.sh disable=SC1091
. "$REPO/firmware/chroot.sh"
cleanup() {
    local status=$?
    unmount_and_remove
    exit "$status"
}
trap cleanup EXIT INT TERM

# -- arm64 programs on this machine: qemu-user-static through binfmt_misc
if [ "$(uname -m)" != aarch64 ]; then
    [ -e /proc/sys/fs/binfmt_misc/register ] ||
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
        fail "cannot mount binfmt_misc (needed to run arm64 programs here)"
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        # qemu-user-static's own registration, if its postinst found no binfmt_misc then
        conf=/usr/lib/binfmt.d/qemu-aarch64.conf
        [ -f "$conf" ] || fail "no $conf: apt-get install qemu-user-static"
        grep -v '^#' "$conf" >/proc/sys/fs/binfmt_misc/register || fail "registering $conf"
    fi
    grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || fail "binfmt qemu-aarch64 is disabled"
fi

# -- Debian bookworm arm64, minbase and the packages the image needs
include="$(grep -Ev '^[[:space:]]*(#|$)' "$HERE/packages.txt" |
    grep -vxF -f <(printf '%s\n' "${KERNEL_PACKAGES[@]}") | paste -sd, -)"
mkdir -p "$root"
debootstrap --arch=arm64 --variant=minbase --components=main,non-free-firmware \
    --include="$include" "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; fail "debootstrap"; }
phase "debootstrap $SUITE arm64"

api_mounts
no_daemons
# names for apt in the chroot (systemd-resolved made resolv.conf a link into /run); tidy.sh
# puts the link back
rm -f "$root/etc/resolv.conf"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
bash "$HERE/debian-system.sh" "$root" "$MIRROR" "$SUITE" || fail "the Debian system settings"
# debootstrap took the release's versions; sources.list now has the security archive and
# bookworm-updates, so the card ships with their fixes (and the kernel below comes from them)
{ in_root apt-get update -qq &&
    in_root apt-get dist-upgrade -y -qq -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold; } >"$work/upgrade.log" 2>&1 ||
    { tail -n 30 "$work/upgrade.log" >&2; fail "the security updates"; }
phase "security and point-release updates"

# -- SettleGuard: the repository and its wheels for arm64, then the shared steps
src=/opt/settle-guard-src
mkdir -p "$root$src"
copy_repository "$REPO" "$root$src"
arch_opt=()
[ "$(uname -m)" = aarch64 ] || arch_opt=(--arch aarch64)
bash "$REPO/firmware/build-wheels.sh" "${arch_opt[@]}" "$root$src/firmware/wheels" >"$work/wheels.log" 2>&1 ||
    { tail -n 20 "$work/wheels.log" >&2; fail "building the wheels"; }
steps_opt=()
[ "$OVERLAY" = 0 ] || steps_opt=(--overlay-root)
in_root bash "$src/firmware/image/steps.sh" "$src" "${steps_opt[@]}" >"$work/steps.log" 2>&1 ||
    { tail -n 40 "$work/steps.log" >&2; fail "steps.sh (install.sh)"; }
in_root /opt/settle-guard/venv/bin/python -c 'import lgpio' ||
    fail "lgpio does not load in the image: the light, buzzer and button would not be driven"
phase "SettleGuard installed (steps.sh)"

# -- the kernel and the Pi's firmware files: one initramfs, config.txt from our settings.
# The kernel's own hook makes the initramfs; initramfs-tools' trigger would make it a
# second time (7 minutes under emulation): update_initramfs=no stops only the trigger.
conf="$root/etc/initramfs-tools/update-initramfs.conf"
sed -i 's/^update_initramfs=.*/update_initramfs=no/' "$conf"
in_root apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "${KERNEL_PACKAGES[@]}" >"$work/kernel.log" 2>&1 ||
    { tail -n 30 "$work/kernel.log" >&2; fail "installing the kernel"; }
sed -i 's/^update_initramfs=.*/update_initramfs=yes/' "$conf"
[ "$(find "$root/boot" -maxdepth 1 -name 'initrd.img-*' | wc -l)" = 1 ] || fail "no initramfs, or more than one"
phase "kernel, initramfs, raspi-firmware"

# -- what a Pi reads at boot, and that a kernel update a year on keeps it
check_boot_files() {
    local fw="$root/boot/firmware" line
    grep -qx 'dtparam=i2c_arm=on' "$fw/config.txt" || fail "config.txt: I2C is not on"
    grep -qx 'enable_uart=1' "$fw/config.txt" || fail "config.txt: the UART is not on"
    read -r line <"$fw/cmdline.txt"
    [[ " $line " == *" root=LABEL=RASPIROOT "* ]] || fail "cmdline.txt has no root=LABEL=RASPIROOT: $line"
    [[ " $line " != *" console=tty"[SA]* && " $line " != *" console=serial"* ]] ||
        fail "cmdline.txt has a serial console: $line"
    compgen -G "$fw/vmlinuz-*" >/dev/null || fail "no kernel on the boot partition"
    compgen -G "$fw/initrd.img-*" >/dev/null || fail "no initrd on the boot partition"
    compgen -G "$fw/bcm2837-rpi-3-b.dtb" >/dev/null || fail "no device tree for the Pi 3"
}
check_boot_files
in_root env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware >/dev/null 2>&1 ||
    fail "raspi-firmware's kernel hook"
check_boot_files
phase "boot files checked (and after a kernel update)"

# -- the manifest: every package and version, to compare two builds
mkdir -p "$OUT"
{
    echo "# $name: Debian packages"
    # shellcheck disable=SC2016 # dpkg-query's own ${fields}
    in_root dpkg-query -W -f '${Package} ${Version} ${Architecture}\n' | sort
    echo "# $name: Python packages (/opt/settle-guard/venv)"
    in_root /opt/settle-guard/venv/bin/python -m pip freeze --all --disable-pip-version-check | sort
} >"$work/manifest" || fail "the manifest"

bash "$HERE/tidy.sh" "$root" "$src" || fail "tidying the root"
install -m 644 "$work/manifest" "$root/opt/settle-guard/manifest.txt" # what is on this card
api_umounts
phase "manifest, tidy"

# -- the partitions, made from folders, and the disk
boot_img="$work/boot.img" root_img="$work/root.img" state_img="$work/state.img"
mkfs.vfat -F 32 -n RASPIFIRM -i "${DISK_ID#0x}" -C "$boot_img" $((BOOT_MIB * 1024)) >/dev/null
mcopy -s -p -m -i "$boot_img" "$root"/boot/firmware/* ::/
find "$root/boot/firmware" -mindepth 1 -delete
state_dir="$work/state"
mkdir -p "$state_dir"
cp -a "$root/var/lib/settle-guard/." "$state_dir/"
find "$root/var/lib/settle-guard" -mindepth 1 -delete
# the partition's root is the state folder: its owner and mode (mke2fs -d copies the contents)
mkfs.ext4 -q -L SGSTATE -U 5e77e6d0-0000-4000-8000-000000000003 \
    -E "root_owner=$(stat -c '%u:%g' "$state_dir")" -d "$state_dir" "$state_img" "${STATE_MIB}M"
debugfs -w -R "set_inode_field / mode 040$(stat -c '%a' "$state_dir")" "$state_img" >/dev/null 2>&1 ||
    fail "the state partition's mode"
used_mib=$(($(du -sm --apparent-size "$root" | cut -f1)))
root_mib=$((used_mib + used_mib / 4 + 256)) # room for updates and a year of logs
mkfs.ext4 -q -L RASPIROOT -U 5e77e6d0-0000-4000-8000-000000000002 -d "$root" "$root_img" "${root_mib}M"
img="$OUT/$name.img"
rm -f "$img" "$img.xz" "$img.xz.sha256"
total_mib=$((4 + BOOT_MIB + root_mib + STATE_MIB))
truncate -s "${total_mib}M" "$img"
sfdisk --quiet "$img" <<EOF
label: dos
label-id: $DISK_ID
start=4MiB, size=${BOOT_MIB}MiB, type=c, bootable
size=${root_mib}MiB, type=83
size=${STATE_MIB}MiB, type=83
EOF
dd if="$boot_img" of="$img" bs=1M seek=4 conv=notrunc,sparse status=none
dd if="$root_img" of="$img" bs=1M seek=$((4 + BOOT_MIB)) conv=notrunc,sparse status=none
dd if="$state_img" of="$img" bs=1M seek=$((4 + BOOT_MIB + root_mib)) conv=notrunc,sparse status=none
cp "$work/manifest" "$OUT/$name.manifest"
phase "partitions and disk (${total_mib} MiB)"

xz -T0 -3 --keep --force "$img"
(cd "$OUT" && sha256sum "$name.img.xz" >"$name.img.xz.sha256")
phase "xz, sha256"
echo "image: $OUT/$name.img.xz ($(du -h "$img.xz" | cut -f1), $(wc -l <"$OUT/$name.manifest") manifest lines)"
echo "image: built in $((SECONDS - t0)) s"
