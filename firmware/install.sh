#!/usr/bin/env bash
# Install SettleGuard as a service on Raspberry Pi OS Bookworm (Lite) or Debian 12.
#
# Idempotent: a second run changes nothing and says so. Works offline from bundled wheels
# (firmware/build-wheels.sh), inside an image build's chroot (no service is started there)
# and on a running system. --uninstall takes everything out again but the state directory.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
NAME=settle-guard
PREFIX=/opt/settle-guard
VENV=$PREFIX/venv
STATE=/var/lib/settle-guard
CONFIG=$STATE/config.toml
UNIT_DIR=/etc/systemd/system
SYSUSERS=/etc/sysusers.d/$NAME.conf
TMPFILES=/etc/tmpfiles.d/$NAME.conf
MODULES=/etc/modules-load.d/$NAME.conf
AVAHI_SERVICE=/etc/avahi/services/$NAME.service
RTC_RULE=/etc/udev/rules.d/85-$NAME-rtc.rules
GPIO_RULE=/etc/udev/rules.d/60-$NAME-gpio.rules
# Debian's raspi-firmware writes config.txt and cmdline.txt anew at every kernel update,
# from these files: there our settings have to live.
RASPI_HOOK=/etc/kernel/postinst.d/z50-raspi-firmware
RASPI_DEFAULTS=/etc/default/raspi-firmware
RASPI_CUSTOM=/etc/default/raspi-firmware-custom
# the read-only root (--overlay-root): the flag the initramfs looks for, and its scripts
OVERLAY_FLAG=/etc/$NAME/overlay-root
OVERLAY_SCRIPT=/etc/initramfs-tools/scripts/init-bottom/$NAME-overlay
OVERLAY_PREMOUNT=/etc/initramfs-tools/scripts/init-premount/$NAME-overlay
OVERLAY_HOOK=/etc/initramfs-tools/hooks/$NAME-overlay
FIRSTBOOT_MARK=$STATE/firstboot
BLOCK_BEGIN="# >>> settle-guard: I2C for the OLED and RTC, the UART for the terminal >>>"
BLOCK_END="# <<< settle-guard <<<"
# util-linux-extra: hwclock (Bookworm moved it out of util-linux)
PACKAGES=(python3 python3-venv systemd fonts-unifont chrony avahi-daemon i2c-tools util-linux-extra)

wheels="$HERE/wheels"
boot=""
hostname_wanted=settleguard
display=""
use_apt=1
start=1
rtc=0
image=0
overlay=0
uninstall=0
purge=0
changes=0

usage() {
    cat <<EOF
usage: install.sh [OPTIONS]

Install SettleGuard: Debian packages, a venv at $VENV from bundled wheels, the
service user, the systemd unit, I2C and the UART (Raspberry Pi), chrony, avahi
(the page at http://settleguard.local:8080/), a default config if there is none,
and the service enabled and started.

  --wheels DIR      wheels to install from (default: $HERE/wheels;
                    build them with firmware/build-wheels.sh)
  --no-apt          install no Debian packages (offline: they must be there already)
  --no-start        enable the service but do not start it (implied in a chroot)
  --rtc             a DS3231 RTC is fitted: enable it (Raspberry Pi)
  --hostname NAME   the name on the network (default settleguard; '' keeps the current)
  --display DRIVER  the OLED of a new config: ssd1306, sh1106, ssd1309 or emulator
                    (default ssd1306 on a Raspberry Pi, emulator elsewhere)
  --boot DIR        where config.txt and cmdline.txt are (default /boot/firmware,
                    or /boot on older systems)
  --image           building an image: the first boot clears web logins and sets the
                    hostname (settle-guard-firstboot.service)
  --overlay-root    a read-only root: every write outside $STATE goes to RAM and
                    is gone at the next boot ($STATE must be a filesystem of its
                    own in /etc/fstab; settleguard.overlay=off on the kernel command
                    line boots writable once, for updates)
  --uninstall       remove the service, unit files, venv, user and group
                    (keeps $STATE; Debian packages stay)
  --purge           with --uninstall: also remove $STATE (config and database)
  -h, --help        this text
EOF
}

say() { printf 'install.sh: %s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}
bad_usage() { # exit 2, as settle-guard does for bad arguments
    printf 'install.sh: %s\n' "$*" >&2
    exit 2
}
changed() {
    changes=$((changes + 1))
    say "$*"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --wheels) [ $# -ge 2 ] || bad_usage "--wheels needs a folder"; wheels="$2"; shift ;;
        --boot) [ $# -ge 2 ] || bad_usage "--boot needs a folder"; boot="$2"; shift ;;
        --hostname) [ $# -ge 2 ] || bad_usage "--hostname needs a name"; hostname_wanted="$2"; shift ;;
        --display) [ $# -ge 2 ] || bad_usage "--display needs a driver"; display="$2"; shift ;;
        --no-apt) use_apt=0 ;;
        --no-start) start=0 ;;
        --rtc) rtc=1 ;;
        --image) image=1; start=0 ;;
        --overlay-root) overlay=1 ;;
        --uninstall) uninstall=1 ;;
        --purge) purge=1 ;;
        -h | --help) usage; exit 0 ;;
        *) bad_usage "unknown option '$1' (see --help)" ;;
    esac
    shift
done

[ "$(id -u)" -eq 0 ] || die "must run as root (sudo $0 $*)"
[ "$purge" -eq 0 ] || [ "$uninstall" -eq 1 ] || bad_usage "--purge only goes with --uninstall"
if [ -n "$hostname_wanted" ] && ! [[ "$hostname_wanted" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]]; then
    bad_usage "--hostname '$hostname_wanted': use lower-case letters, digits and '-' (at most 63)"
fi
case "$display" in
    "" | ssd1306 | sh1106 | ssd1309 | emulator) ;;
    *) bad_usage "--display '$display': use ssd1306, sh1106, ssd1309 or emulator" ;;
esac

# -- where we are

in_chroot() {
    # systemd's own test: is our root PID 1's root? Not allowed to look means not the host's.
    local pid1
    pid1="$(stat -Lc '%d:%i' /proc/1/root/. 2>/dev/null)" || return 0
    [ "$(stat -Lc '%d:%i' /)" != "$pid1" ]
}

systemd_running() {
    [ -d /run/systemd/system ] && ! in_chroot
}

if [ -z "$boot" ]; then
    boot=/boot/firmware
    [ -f "$boot/config.txt" ] || [ ! -f /boot/config.txt ] || boot=/boot
fi
on_pi=0
[ -f "$boot/config.txt" ] && on_pi=1
debian_raspi=0 # Debian's raspi-firmware (an image from Debian's archive), not Raspberry Pi OS
# (an image build writes the defaults before the package comes, with the kernel, last)
if [ -f "$RASPI_DEFAULTS" ]; then
    debian_raspi=1
    on_pi=1 # config.txt may only come with the kernel, after us
fi

# -- small idempotent helpers: each says what it changed and counts it

install_file() { # SRC DST MODE
    if [ -f "$2" ] && cmp -s "$1" "$2" && [ "$(stat -c '%a' "$2")" = "$3" ]; then
        return 0
    fi
    install -D -m "$3" "$1" "$2"
    changed "installed $2"
}

write_file() { # DST MODE (content on stdin)
    local tmp
    tmp="$(mktemp)"
    cat >"$tmp"
    install_file "$tmp" "$1" "$2"
    rm -f "$tmp"
}

overwrite() { # FILE (new content on stdin): rewritten in place, its owner and mode kept
    local tmp
    tmp="$(mktemp)"
    cat >"$tmp"
    cat "$tmp" >"$1"
    rm -f "$tmp"
}

remove_path() {
    if [ -e "$1" ] || [ -L "$1" ]; then
        rm -rf -- "$1"
        changed "removed $1"
    fi
}

# config.txt: our lines live in one marked block at the end, under [all] so no earlier
# conditional section ([pi4], [cm4], ...) captures them; later lines win in config.txt.
strip_block() { # FILE -> stdout without our block
    awk -v b="$BLOCK_BEGIN" -v e="$BLOCK_END" '
        $0 == b { skip = 1; next }
        $0 == e { skip = 0; next }
        !skip' "$1"
}

our_block() { # our marked block: at config.txt's end, or raspi-firmware-custom's on Debian
    printf '%s\n[all]\ndtparam=i2c_arm=on\nenable_uart=1\n' "$BLOCK_BEGIN"
    [ "$rtc" -eq 0 ] || printf 'dtoverlay=i2c-rtc,ds3231\n'
    printf '%s\n' "$BLOCK_END"
}

boot_config() {
    local file="$boot/config.txt" want tmp
    want="$(strip_block "$file")"
    want+=$'\n'"$(our_block)"
    tmp="$(mktemp)"
    printf '%s\n' "$want" >"$tmp"
    if cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        say "$file: I2C and UART already on"
        return 0
    fi
    cat "$tmp" >"$file" # keep the file's owner and mode (FAT has none anyway)
    rm -f "$tmp"
    changed "$file: I2C on, UART on$([ "$rtc" -eq 0 ] || echo ', DS3231 RTC')"
}

boot_cmdline() {
    local file="$boot/cmdline.txt" line kept=() word
    [ -f "$file" ] || { say "no $file: serial console left as it is"; return 0; }
    read -r line <"$file" || true
    for word in $line; do
        case "$word" in
            console=serial0,* | console=serial1,* | console=ttyAMA0,* | console=ttyS0,*) ;;
            *) kept+=("$word") ;;
        esac
    done
    if [ "${kept[*]}" = "$line" ]; then
        say "$file: no serial console (the UART is free for the terminal)"
        return 0
    fi
    printf '%s\n' "${kept[*]}" >"$file"
    changed "$file: serial console removed (the UART is the terminal's now)"
}

# -- install

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

apt_packages() {
    step "Debian packages"
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        installed "$pkg" || missing+=("$pkg")
    done
    export DEBIAN_FRONTEND=noninteractive
    # a fresh image ships without package lists: without them nothing can be looked up
    if [ "$use_apt" -eq 1 ] && { [ "${#missing[@]}" -gt 0 ] || ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; }; then
        apt-get update -qq
    fi
    # lgpio drives the pins on Bookworm; Raspberry Pi OS has it, plain Debian does not (an
    # lgpio wheel in the wheels folder stands in: gpio_library; off a Pi, mock pins).
    if ! installed python3-lgpio; then
        if apt-cache show python3-lgpio >/dev/null 2>&1; then
            missing+=(python3-lgpio)
        else
            say "python3-lgpio is not in this system's archive (an lgpio wheel may stand in)"
        fi
    fi
    if [ "${#missing[@]}" -eq 0 ]; then
        say "all there: ${PACKAGES[*]}"
        return 0
    fi
    [ "$use_apt" -eq 1 ] || die "--no-apt, but these packages are missing: ${missing[*]}"
    say "installing ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    changes=$((changes + 1))
}

python_venv() {
    step "Python venv $VENV"
    local wheel stamp=$PREFIX/installed-wheel.sha256 sum
    [ -d "$wheels" ] || die "no wheel folder $wheels: build it with firmware/build-wheels.sh"
    wheel="$(find "$wheels" -maxdepth 1 -name 'settle_guard-*.whl' | sort -V | tail -n 1)"
    [ -n "$wheel" ] || die "no settle_guard wheel in $wheels: build them with firmware/build-wheels.sh"
    if [ ! -x "$VENV/bin/python" ]; then
        # system site packages: Debian's python3-lgpio drives the pins on a Pi
        python3 -m venv --system-site-packages "$VENV"
        changed "created $VENV"
    fi
    sum="$(sha256sum "$wheel" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && [ -x "$VENV/bin/$NAME" ]; then
        say "$(basename "$wheel") already installed"
        return 0
    fi
    # eager: what the venv came with (Debian's setuptools) gives way to the pinned wheels too
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-index \
        --find-links "$wheels" --upgrade --upgrade-strategy eager "$wheel"
    # the same version rebuilt (a developer's wheel) replaces the installed one too
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-index --no-deps \
        --force-reinstall "$wheel"
    echo "$sum" >"$stamp"
    changed "installed $(basename "$wheel") and its dependencies from $wheels"
}

gpio_library() {
    # lgpio drives the pins through the kernel's GPIO chip: Raspberry Pi OS's python3-lgpio
    # (the venv sees system packages), else the wheel build-lgpio.sh compiled (Debian)
    local wheel
    if "$VENV/bin/python" -c 'import lgpio' 2>/dev/null; then
        return 0
    fi
    wheel="$(find "$wheels" -maxdepth 1 -name 'lgpio-*.whl' | sort -V | tail -n 1)"
    if [ -z "$wheel" ]; then
        [ "$on_pi" -eq 0 ] || say "no lgpio here: the light, buzzer and button will not be driven"
        return 0
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-index --no-deps "$wheel"
    "$VENV/bin/python" -c 'import lgpio' || die "$(basename "$wheel") does not load"
    changed "installed $(basename "$wheel") (the GPIO pins)"
}

service_user() {
    step "user and group $NAME (dialout, gpio, i2c)"
    local group
    install_file "$REPO/systemd/$NAME.sysusers" "$SYSUSERS" 644
    if command -v systemd-sysusers >/dev/null 2>&1; then
        local before
        before="$(getent passwd "$NAME" || true) $(id -nG "$NAME" 2>/dev/null || true)"
        systemd-sysusers "$SYSUSERS"
        [ "$before" = "$(getent passwd "$NAME" || true) $(id -nG "$NAME" 2>/dev/null || true)" ] ||
            changed "created user $NAME: $(id "$NAME")"
    else
        # no systemd-sysusers: the same result with shadow's tools
        for group in "$NAME" dialout gpio i2c; do
            getent group "$group" >/dev/null || { groupadd --system "$group"; changed "group $group"; }
        done
        if ! getent passwd "$NAME" >/dev/null; then
            useradd --system --gid "$NAME" --home-dir "$STATE" --no-create-home \
                --shell /usr/sbin/nologin --comment "SettleGuard" "$NAME"
            changed "created user $NAME"
        fi
        for group in dialout gpio i2c; do
            id -nG "$NAME" | tr ' ' '\n' | grep -qx "$group" ||
                { usermod -a -G "$group" "$NAME"; changed "$NAME joins $group"; }
        done
    fi
    say "$(id "$NAME")"
}

state_and_config() {
    step "state directory $STATE and config"
    install_file "$REPO/systemd/$NAME.tmpfiles" "$TMPFILES" 644
    systemd-tmpfiles --create "$TMPFILES"
    if [ -e "$CONFIG" ]; then
        say "$CONFIG exists: kept as it is"
    else
        "$VENV/bin/$NAME" config init --config "$CONFIG" >/dev/null
        local driver="${display:-$([ "$on_pi" -eq 1 ] && echo ssd1306 || echo emulator)}"
        if [ "$driver" != emulator ]; then
            "$VENV/bin/python" - "$CONFIG" "$driver" <<'PY'
import sys
from pi_agent import config
cfg = config.load(sys.argv[1])
config.save(config.replace(cfg, "panel", display=sys.argv[2]), sys.argv[1])
PY
        fi
        changed "wrote the default config $CONFIG (OLED: $driver); edit it on the web page"
    fi
    # the service reads it as its own user; root may have written it (here or by hand)
    if [ "$(stat -c '%U:%G %a' "$CONFIG")" != "$NAME:$NAME 600" ]; then
        chown "$NAME:$NAME" "$CONFIG"
        chmod 600 "$CONFIG"
        changed "$CONFIG: owner $NAME, mode 0600"
    fi
    if [ "$image" -eq 1 ] && [ ! -e "$FIRSTBOOT_MARK" ]; then
        touch "$FIRSTBOOT_MARK"
        changed "the first boot will clear web logins and set the hostname"
    fi
}

boot_settings() {
    step "I2C, UART and serial console"
    write_file "$MODULES" 644 <<EOF
# SettleGuard: /dev/i2c-1 for the OLED and the RTC
i2c-dev
EOF
    if [ "$on_pi" -eq 0 ]; then
        say "no $boot/config.txt: not a Raspberry Pi, boot settings left alone"
        return 0
    fi
    if [ "$debian_raspi" -eq 1 ]; then
        raspi_firmware_settings
    else
        boot_config
        boot_cmdline
    fi
    # Debian's udev gives the GPIO chip to root alone (Raspberry Pi OS has a rule of its own)
    write_file "$GPIO_RULE" 644 <<'EOF'
# SettleGuard: the GPIO chip (light, buzzer, button) for the gpio group
SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"
EOF
    rtc_clock
}

raspi_firmware_settings() {
    local custom consoles before=$changes
    # our block in raspi-firmware-custom (appended to every config.txt it writes)
    custom=""
    [ ! -f "$RASPI_CUSTOM" ] || custom="$(strip_block "$RASPI_CUSTOM")"
    custom+="${custom:+$'\n'}$(our_block)"
    printf '%s\n' "$custom" | write_file "$RASPI_CUSTOM" 644
    # consoles: the screen only; the UART is the terminal's (raspi-firmware's "auto" puts a
    # console on it)
    consoles="$(sed -n 's/^CONSOLES=//p' "$RASPI_DEFAULTS" | tail -n 1)"
    if [ "$consoles" != '"tty0"' ]; then
        { sed '/^CONSOLES=/d' "$RASPI_DEFAULTS"; echo 'CONSOLES="tty0"'; } | overwrite "$RASPI_DEFAULTS"
        changed "$RASPI_DEFAULTS: no serial console (the UART is the terminal's now)"
    fi
    if [ "$changes" -eq "$before" ] && [ -f "$boot/config.txt" ]; then
        say "$boot/config.txt: I2C and UART on, no serial console (raspi-firmware)"
        return 0
    fi
    if [ -x "$RASPI_HOOK" ] && compgen -G '/boot/vmlinuz-*' >/dev/null &&
        compgen -G '/boot/initrd.img-*' >/dev/null; then
        DEB_MAINT_PARAMS=configure "$RASPI_HOOK"
        changed "$boot/config.txt and cmdline.txt written anew by raspi-firmware"
    else
        say "no kernel yet: raspi-firmware writes config.txt with these settings when it comes"
    fi
}

overlay_root() {
    step "read-only root"
    local before=$changes
    if [ "$overlay" -eq 0 ]; then
        if [ -e "$OVERLAY_FLAG" ]; then
            remove_path "$OVERLAY_FLAG"
            say "the root is writable from the next boot on"
        fi
        return 0
    fi
    # without its own filesystem the guard's state would be in RAM and lost at each boot
    awk -v d="$STATE" '$1 !~ /^#/ && $2 == d { found = 1 } END { exit !found }' /etc/fstab 2>/dev/null ||
        die "--overlay-root: $STATE is not a filesystem of its own in /etc/fstab (its state would be lost at every boot)"
    install_file "$HERE/overlay/init-premount.sh" "$OVERLAY_PREMOUNT" 755
    install_file "$HERE/overlay/init-bottom.sh" "$OVERLAY_SCRIPT" 755
    install_file "$HERE/overlay/hook.sh" "$OVERLAY_HOOK" 755
    mkdir -p "$(dirname "$OVERLAY_FLAG")"
    if [ ! -e "$OVERLAY_FLAG" ]; then
        echo "# SettleGuard: read-only root (install.sh --overlay-root)" >"$OVERLAY_FLAG"
        changed "read-only root from the next boot on (writes outside $STATE go to RAM)"
    fi
    [ "$changes" -eq "$before" ] || initramfs_refresh
}

initramfs_refresh() { # the overlay's scripts must be in the initramfs that boots
    if command -v update-initramfs >/dev/null && compgen -G '/boot/initrd.img-*' >/dev/null; then
        update-initramfs -u -k all >/dev/null
        say "initramfs updated"
    else
        say "no initramfs yet: the kernel's package makes it with the overlay in it"
    fi
}

rtc_clock() {
    if [ "$rtc" -eq 0 ]; then
        remove_path "$RTC_RULE"
        return 0
    fi
    # The DS3231's driver is a module, loaded after the kernel's own hctosys ran, and
    # Debian's udev hook (hwclock-set) does nothing under systemd: set the clock ourselves
    # when the RTC appears. chrony's rtcsync writes it back while synchronised.
    write_file "$RTC_RULE" 644 <<'EOF'
# SettleGuard: the system clock from the RTC as soon as it appears (a guard without network)
ACTION=="add", SUBSYSTEM=="rtc", KERNEL=="rtc0", RUN+="/sbin/hwclock --rtc=/dev/rtc0 --hctosys --utc"
EOF
    if installed fake-hwclock; then
        # fake-hwclock would set the clock from its last saved time over the RTC's
        apt-get purge -y -qq fake-hwclock >/dev/null
        changed "removed fake-hwclock (the RTC keeps the time now)"
    fi
}

network_name() {
    step "network name and time"
    local current
    current="$(cat /etc/hostname 2>/dev/null || true)"
    if [ -z "$hostname_wanted" ]; then
        say "hostname kept: $current"
    elif [ "$current" != "$hostname_wanted" ]; then
        if systemd_running && command -v hostnamectl >/dev/null 2>&1; then
            hostnamectl set-hostname "$hostname_wanted"
        else
            echo "$hostname_wanted" >/etc/hostname
        fi
        changed "hostname $hostname_wanted (was ${current:-unset})"
    else
        say "hostname $current"
    fi
    if [ -n "$hostname_wanted" ]; then
        # Debian's convention: the own name on 127.0.1.1, so sudo and friends resolve it
        local hosts
        hosts="$(grep -v '^127\.0\.1\.1[[:space:]]' /etc/hosts 2>/dev/null || true)"
        hosts+=$'\n'"127.0.1.1	$hostname_wanted"
        printf '%s\n' "${hosts#$'\n'}" | write_file /etc/hosts 644
    fi
    write_file "$AVAHI_SERVICE" 644 <<'EOF'
<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<!-- SettleGuard's web page, announced on the shop's LAN -->
<service-group>
  <name replace-wildcards="yes">SettleGuard on %h</name>
  <service>
    <type>_http._tcp</type>
    <port>8080</port>
  </service>
</service-group>
EOF
    enable_unit chrony.service
    enable_unit avahi-daemon.service
}

enable_unit() {
    if systemctl is-enabled --quiet "$1" 2>/dev/null; then
        say "$1 enabled"
    else
        systemctl enable --quiet "$1"
        changed "enabled $1"
    fi
}

service_units() {
    step "systemd units"
    install_file "$REPO/systemd/$NAME.service" "$UNIT_DIR/$NAME.service" 644
    install_file "$HERE/$NAME-firstboot.service" "$UNIT_DIR/$NAME-firstboot.service" 644
    install_file "$HERE/firstboot.sh" "$PREFIX/firstboot.sh" 755
    if systemd_running; then
        systemctl daemon-reload
    fi
    enable_unit "$NAME-firstboot.service"
    enable_unit "$NAME.service"
    if [ "$start" -eq 0 ]; then
        say "not started (--no-start)"
    elif ! systemd_running; then
        say "not started: no running systemd here (a chroot or a container); it starts at boot"
    elif [ "$changes" -gt 0 ] || ! systemctl is-active --quiet "$NAME.service"; then
        systemctl restart "$NAME.service" ||
            die "$NAME.service did not start: journalctl -u $NAME -n 50"
        say "started $NAME.service: journalctl -u $NAME -f"
    else
        say "$NAME.service running"
    fi
}

do_install() {
    local sys
    for sys in "$NAME.service" "$NAME.sysusers" "$NAME.tmpfiles"; do
        [ -f "$REPO/systemd/$sys" ] || die "missing $REPO/systemd/$sys: run install.sh from a full copy of the repository"
    done
    in_chroot && say "in a chroot: nothing is started, everything is enabled for the next boot"
    apt_packages
    python_venv
    gpio_library
    service_user
    state_and_config
    boot_settings
    overlay_root
    network_name
    service_units
    echo
    if [ "$changes" -eq 0 ]; then
        say "SettleGuard is installed: nothing changed"
    else
        say "SettleGuard is installed: $changes changes"
    fi
    say "the web page: http://${hostname_wanted:-$(cat /etc/hostname)}.local:8080/ (a setup code shows on the OLED)"
    say "test the parts: systemctl stop $NAME; sudo -u $NAME $VENV/bin/$NAME selftest --poll --config $CONFIG"
}

# -- uninstall

do_uninstall() {
    step "uninstall"
    local unit
    for unit in "$NAME.service" "$NAME-firstboot.service"; do
        if systemd_running; then
            systemctl disable --now --quiet "$unit" 2>/dev/null || true
        elif command -v systemctl >/dev/null 2>&1; then
            systemctl disable --quiet "$unit" 2>/dev/null || true
        fi
        remove_path "$UNIT_DIR/$unit"
    done
    remove_path "$SYSUSERS"
    remove_path "$TMPFILES"
    remove_path "$MODULES"
    remove_path "$RTC_RULE"
    remove_path "$GPIO_RULE"
    remove_path "$AVAHI_SERVICE"
    remove_path "$PREFIX"
    remove_path "$OVERLAY_FLAG"
    if [ -e "$OVERLAY_SCRIPT" ] || [ -e "$OVERLAY_HOOK" ]; then
        remove_path "$OVERLAY_PREMOUNT"
        remove_path "$OVERLAY_SCRIPT"
        remove_path "$OVERLAY_HOOK"
        initramfs_refresh
    fi
    if systemd_running; then
        systemctl daemon-reload
    fi
    if getent passwd "$NAME" >/dev/null; then
        userdel "$NAME"
        changed "removed user $NAME"
    fi
    if getent group "$NAME" >/dev/null; then
        groupdel "$NAME"
        changed "removed group $NAME"
    fi
    if [ -f "$RASPI_CUSTOM" ] && grep -qxF "$BLOCK_BEGIN" "$RASPI_CUSTOM"; then
        strip_block "$RASPI_CUSTOM" | overwrite "$RASPI_CUSTOM"
        changed "$RASPI_CUSTOM: our I2C/UART lines removed (config.txt follows at the next kernel update)"
    fi
    if [ "$debian_raspi" -eq 0 ] && [ "$on_pi" -eq 1 ] && grep -qxF "$BLOCK_BEGIN" "$boot/config.txt"; then
        local rest
        rest="$(strip_block "$boot/config.txt")"
        printf '%s\n' "$rest" >"$boot/config.txt"
        changed "$boot/config.txt: our I2C/UART lines removed (the serial console stays off)"
    fi
    if [ "$purge" -eq 1 ]; then
        remove_path "$STATE"
    elif [ -d "$STATE" ]; then
        say "kept $STATE (config and database; --purge removes it)"
    fi
    say "uninstalled: $changes changes (Debian packages, the hostname and the groups dialout, gpio, i2c stay)"
}

if [ "$uninstall" -eq 1 ]; then
    do_uninstall
else
    do_install
fi
