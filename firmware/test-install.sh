#!/usr/bin/env bash
# The installer on a clean system: debootstrap a Debian 12 (bookworm) amd64 minbase rootfs,
# run install.sh twice inside it (chroot), check the result, then uninstall and check that
# nothing is left. Needs root, debootstrap and the Debian mirror; takes a few minutes.
#
#   sudo firmware/test-install.sh            (make install-test)
#   KEEP_ROOTFS=1 ...                        keep the rootfs for a look afterwards
#   MIRROR=http://... ...                    another Debian mirror
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SRC=/root/settle-guard # the repository's copy inside the rootfs
SG=/opt/settle-guard/venv/bin/settle-guard

[ "$(id -u)" -eq 0 ] || { echo "test-install: must run as root (debootstrap, chroot, mount)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "test-install: apt-get install debootstrap" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/var/tmp}/settle-guard-rootfs.XXXXXX")"
root="$work/root"
sim_pid=""
host_name="$(hostname)"
t0=$SECONDS
there() { [ -e "$root$1" ] || [ -L "$root$1" ]; } # a link may point into the rootfs
# shellcheck disable=SC2034 # me and keep are chroot.sh's
me=test-install keep="${KEEP_ROOTFS:-0}"
# shellcheck source=firmware/chroot.sh disable=SC1091
. "$HERE/chroot.sh"

cleanup() {
    local status=$?
    [ -z "$sim_pid" ] || kill "$sim_pid" 2>/dev/null || true
    unmount_and_remove
    exit "$status"
}
trap cleanup EXIT INT TERM

# -- a clean Debian 12
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
phase "debootstrap bookworm minbase"

api_mounts
no_daemons
# a stand-in Raspberry Pi boot partition, to see config.txt and cmdline.txt edited once
mkdir -p "$work/boot"
printf '# stock\n[pi4]\narm_boost=1\n\n[all]\n' >"$work/boot/config.txt"
echo "console=serial0,115200 console=tty1 root=PARTUUID=1234-02 rootwait" >"$work/boot/cmdline.txt"
mkdir -p "$root/boot/firmware"
mount --bind "$work/boot" "$root/boot/firmware"

# -- the repository and its wheels, built here on the host
mkdir -p "$root$SRC"
copy_repository "$REPO" "$root$SRC"
bash "$REPO/firmware/build-wheels.sh" "$root$SRC/firmware/wheels" >"$work/wheels.log" 2>&1 ||
    { tail -n 20 "$work/wheels.log" >&2; fail "building wheels"; }
phase "repository and wheels copied in"

# -- install, twice
in_root bash "$SRC/firmware/install.sh" --rtc >"$work/install-1.log" 2>&1 ||
    { cat "$work/install-1.log" >&2; fail "first install.sh"; }
phase "install.sh (first run, with apt)"
grep -q "changes$" "$work/install-1.log" || fail "the first run reported no changes"
touch "$work/before-second-run"
sleep 1 # mtimes have whole seconds on some filesystems
in_root bash "$SRC/firmware/install.sh" --rtc >"$work/install-2.log" 2>&1 ||
    { cat "$work/install-2.log" >&2; fail "second install.sh"; }
phase "install.sh (second run)"
grep -q "SettleGuard is installed: nothing changed" "$work/install-2.log" ||
    { cat "$work/install-2.log" >&2; fail "the second run changed something"; }
touched="$(find "$root/etc" "$root/opt" "$root/var/lib/settle-guard" "$work/boot" -xdev \
    -newer "$work/before-second-run" -not -type d 2>/dev/null || true)"
[ -z "$touched" ] || fail "the second run wrote to: $touched"

# -- what the first run should have made
for f in /etc/systemd/system/settle-guard.service /etc/systemd/system/settle-guard-firstboot.service \
    /etc/systemd/system/multi-user.target.wants/settle-guard.service \
    /etc/sysusers.d/settle-guard.conf /etc/tmpfiles.d/settle-guard.conf "$SG" \
    /etc/udev/rules.d/85-settle-guard-rtc.rules /etc/udev/rules.d/60-settle-guard-gpio.rules /sbin/hwclock; do
    there "$f" || fail "missing $f"
done
# the venv holds every pinned version (not what the venv came with, e.g. Debian's setuptools)
norm() { # package names as pip compares them: lower case, - for _ and .
    sed -E 'h; s/==.*//; y/ABCDEFGHIJKLMNOPQRSTUVWXYZ_./abcdefghijklmnopqrstuvwxyz--/; G; s/\n[^=]*==/==/'
}
in_root /opt/settle-guard/venv/bin/pip freeze --all --disable-pip-version-check | norm >"$work/freeze.txt"
while read -r pin; do
    grep -qxF "$pin" "$work/freeze.txt" || fail "the venv lacks $pin (has: $(grep "^${pin%%==*}==" "$work/freeze.txt"))"
done < <(grep -Ev '^[[:space:]]*(#|$)' "$root$SRC/firmware/constraints.txt" | norm)
groups="$(in_root id -nG settle-guard)"
for g in dialout gpio i2c; do
    [[ " $groups " == *" $g "* ]] || fail "settle-guard is not in group $g (groups: $groups)"
done
[ "$(in_root stat -c '%U %a' /var/lib/settle-guard/config.toml)" = "settle-guard 600" ] ||
    fail "config.toml is not settle-guard's with mode 0600"
[ "$(cat "$root/etc/hostname")" = settleguard ] || fail "hostname is not settleguard"
[ "$(grep -c '^dtparam=i2c_arm=on$' "$work/boot/config.txt")" = 1 ] || fail "config.txt: i2c_arm"
[ "$(grep -c '^enable_uart=1$' "$work/boot/config.txt")" = 1 ] || fail "config.txt: enable_uart"
[ "$(grep -c '^dtoverlay=i2c-rtc,ds3231$' "$work/boot/config.txt")" = 1 ] || fail "config.txt: rtc"
[ "$(cat "$work/boot/cmdline.txt")" = "console=tty1 root=PARTUUID=1234-02 rootwait" ] ||
    fail "cmdline.txt: $(cat "$work/boot/cmdline.txt")"
grep -q 'display = "ssd1306"' "$root/var/lib/settle-guard/config.toml" ||
    fail "a Raspberry Pi's new config should drive an ssd1306"
echo "test-install: the venv takes $(du -sh "$root/opt/settle-guard/venv" | cut -f1)"

# -- the installed command: config check as the service user, status against the simulator
in_root runuser -u settle-guard -- "$SG" config check --config /var/lib/settle-guard/config.toml ||
    fail "config check"
chroot "$root" "$SG" sim --pty --link /tmp/terminal </dev/null >"$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
    grep -q '^port: ' "$work/sim.out" && break
    sleep 0.1
done
grep -q '^port: /tmp/terminal' "$work/sim.out" || fail "the simulator did not start: $(cat "$work/sim.out")"
in_root "$SG" status --port /tmp/terminal | tee "$work/status.out"
grep -q "Terminal on /tmp/terminal: .*(00)" "$work/status.out" || fail "status against the simulator"
# the bench's own config: the appliance's drives an ssd1306 that is not on this bus
in_root "$SG" config init --config /tmp/bench.toml >/dev/null
in_root "$SG" selftest --config /tmp/bench.toml --port /tmp/terminal --poll --dwell 0 |
    tee "$work/selftest.out" || fail "selftest inside the rootfs"
grep -q "^PASS terminal status on /tmp/terminal" "$work/selftest.out" || fail "selftest --poll"
kill "$sim_pid"
wait "$sim_pid" 2>/dev/null || true
sim_pid=""
phase "config check, status, selftest"

# -- the first boot of an image: web logins go, the hostname comes
in_root bash "$SRC/firmware/install.sh" --image --hostname '' >"$work/install-image.log" 2>&1 ||
    { cat "$work/install-image.log" >&2; fail "install.sh --image"; }
echo raspberrypi >"$root/etc/hostname"
touch "$root/var/lib/settle-guard/web.db" "$root/var/lib/settle-guard/web.db-wal"
in_root /opt/settle-guard/firstboot.sh
for f in web.db web.db-wal firstboot; do
    [ ! -e "$root/var/lib/settle-guard/$f" ] || fail "firstboot left $f"
done
[ "$(cat "$root/etc/hostname")" = settleguard ] || fail "firstboot did not set the hostname"
in_root /opt/settle-guard/firstboot.sh | grep -q "nothing to do" || fail "firstboot ran twice"
[ "$(hostname)" = "$host_name" ] || fail "firstboot in a chroot renamed this machine to $(hostname)"
# the card's reset: a file on the firmware partition clears the page's logins, once
touch "$root/var/lib/settle-guard/web.db" "$work/boot/settleguard-reset.txt"
said="$(in_root /opt/settle-guard/firstboot.sh)" # all of it: grep -q would cut it short
grep -q "password and API tokens cleared" <<<"$said" || fail "firstboot did not take the card's reset file"
[ ! -e "$root/var/lib/settle-guard/web.db" ] || fail "the card's reset left web.db"
[ ! -e "$work/boot/settleguard-reset.txt" ] || fail "the card's reset file stayed (a reset at every boot)"
touch "$root/var/lib/settle-guard/web.db"
in_root /opt/settle-guard/firstboot.sh | grep -q "nothing to do" || fail "firstboot without a reset file"
[ -e "$root/var/lib/settle-guard/web.db" ] || fail "firstboot removed web.db without a reset file"
rm "$root/var/lib/settle-guard/web.db"
phase "firstboot in the chroot, the card's reset"

# -- a real boot (systemd-nspawn, loopback only): the first-boot unit runs before the
# service, the service runs as its user and reports READY, the page answers on 8080
command -v systemd-nspawn >/dev/null || fail "apt-get install systemd-container (systemd-nspawn)"
in_root bash "$SRC/firmware/install.sh" --image --hostname '' >/dev/null
echo "copied with the image" >"$root/var/lib/settle-guard/web.db" # the page makes a new one
echo raspberrypi >"$root/etc/hostname"
# the appliance's config drives an ssd1306; a container has no I2C bus
sed -i 's/^display = .*/display = "emulator"/' "$root/var/lib/settle-guard/config.toml"
cat >"$root/root/boot-check.sh" <<'CHECK'
#!/bin/sh
# runs once the guard is up: what a technician would look at, then power off
{
    for _ in $(seq 120); do systemctl is-active --quiet settle-guard && break; sleep 0.5; done
    echo "service: $(systemctl is-active settle-guard)"
    pid="$(systemctl show -p MainPID --value settle-guard)"
    echo "user: $(stat -c %U "/proc/$pid")"
    # what gpiozero reads to know the Pi, as the service sees it (its own /proc)
    if [ -r "/proc/$pid/root/proc/cpuinfo" ]; then echo "cpuinfo: seen"; else echo "cpuinfo: hidden"; fi
    echo "firstboot: $(systemctl show -p Result --value settle-guard-firstboot)"
    echo "hostname: $(hostname)"
    echo "state: $(ls /var/lib/settle-guard | tr '\n' ' ')"
    /opt/settle-guard/venv/bin/python3 - <<'PY'
import time, urllib.request
for _ in range(40):
    try:
        print("page:", urllib.request.urlopen("http://127.0.0.1:8080/", timeout=5).status)
        break
    except OSError as exc:
        error = exc
        time.sleep(0.5)
else:
    print("page: no answer:", error)
PY
    journalctl -b --no-pager -u settle-guard-firstboot -u settle-guard | tail -n 4
} >/root/boot-check.out 2>&1
systemctl poweroff
CHECK
printf '[Unit]\nDescription=look at the booted guard\nAfter=settle-guard.service\n[Service]\nType=oneshot\nExecStart=/bin/sh /root/boot-check.sh\n' \
    >"$root/etc/systemd/system/boot-check.service"
ln -s ../boot-check.service "$root/etc/systemd/system/multi-user.target.wants/boot-check.service"
api_umounts
timeout 180 systemd-nspawn --quiet --boot --directory="$root" --register=no --keep-unit \
    --private-network --console=pipe </dev/null >"$work/boot.log" 2>&1 || true
api_mounts
rm -f "$root/etc/systemd/system/multi-user.target.wants/boot-check.service" \
    "$root/etc/systemd/system/boot-check.service"
out="$root/root/boot-check.out"
[ -f "$out" ] || { tail -n 30 "$work/boot.log" >&2; fail "the booted rootfs never ran its check"; }
sed 's/^/  boot: /' "$out"
grep -qx "service: active" "$out" || fail "settle-guard.service is not active after boot"
grep -qx "user: settle-guard" "$out" || fail "the service does not run as settle-guard"
grep -qx "cpuinfo: seen" "$out" || fail "the service cannot read /proc/cpuinfo: gpiozero cannot tell the Pi"
grep -qx "firstboot: success" "$out" || fail "the first-boot unit did not succeed"
grep -qx "hostname: settleguard" "$out" || fail "the first boot did not set the hostname"
grep -q "^page: [23]0[0-9]$" "$out" || fail "the web page does not answer on 8080"
! grep -qs "copied with the image" "$root/var/lib/settle-guard/web.db" ||
    fail "web.db from the image survived the first boot"
! grep -q "^state: .*firstboot" "$out" || fail "the first-boot marker survived the first boot"
phase "a real boot (nspawn): firstboot, service, page"

# -- uninstall: nothing of ours is left but the state, then --purge takes that too
in_root bash "$SRC/firmware/install.sh" --uninstall
for f in /etc/systemd/system/settle-guard.service /etc/systemd/system/settle-guard-firstboot.service \
    /etc/systemd/system/multi-user.target.wants/settle-guard.service \
    /etc/sysusers.d/settle-guard.conf /etc/tmpfiles.d/settle-guard.conf /opt/settle-guard \
    /etc/udev/rules.d/85-settle-guard-rtc.rules /etc/udev/rules.d/60-settle-guard-gpio.rules; do
    ! there "$f" || fail "left behind: $f"
done
! in_root getent passwd settle-guard >/dev/null || fail "user settle-guard left behind"
! in_root getent group settle-guard >/dev/null || fail "group settle-guard left behind"
[ -f "$root/var/lib/settle-guard/config.toml" ] || fail "uninstall removed the config"
! grep -q settle-guard "$work/boot/config.txt" || fail "config.txt still has our block"
in_root bash "$SRC/firmware/install.sh" --uninstall --purge >/dev/null
[ ! -e "$root/var/lib/settle-guard" ] || fail "--purge left /var/lib/settle-guard"

# -- where systemd-sysusers is missing, shadow's useradd makes the same user
sysusers="$(in_root sh -c 'command -v systemd-sysusers')"
mv "$root$sysusers" "$root$sysusers.away"
in_root bash "$SRC/firmware/install.sh" --no-apt >"$work/install-useradd.log" 2>&1 ||
    { mv "$root$sysusers.away" "$root$sysusers"; cat "$work/install-useradd.log" >&2; fail "install.sh with useradd"; }
mv "$root$sysusers.away" "$root$sysusers"
groups="$(in_root id -nG settle-guard | tr ' ' '\n' | sort | xargs)"
[ "$groups" = "dialout gpio i2c settle-guard" ] || fail "useradd fallback: groups are '$groups'"
in_root runuser -u settle-guard -- "$SG" config check --config /var/lib/settle-guard/config.toml ||
    fail "config check after the useradd install"
in_root bash "$SRC/firmware/install.sh" --uninstall --purge >/dev/null
! in_root getent passwd settle-guard >/dev/null || fail "user settle-guard left behind (useradd)"
! in_root getent group settle-guard >/dev/null || fail "group settle-guard left behind (useradd)"
phase "uninstall, purge; again with useradd"

echo "test-install: passed in $((SECONDS - t0)) s"
