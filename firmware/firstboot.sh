#!/usr/bin/env bash
# First boot of a SettleGuard image (settle-guard-firstboot.service, once: it runs while
# the marker /var/lib/settle-guard/firstboot exists and removes it at the end), and the
# card's reset: a file settleguard-reset.txt on the firmware partition (any PC can write
# it) clears the page's logins at the next boot, like holding the button while the guard
# starts, for a guard whose button is not wired or not driven.
#
# An image is copied to many cards, and a card may be cloned from a guard that was in use:
# whatever logs in to the web page must not come along. web.db holds the admin password,
# the API tokens and the key that signs sessions; without it the page starts afresh and
# the OLED shows a new one-time setup code. The config (terminal, schedule) and the
# guard's database stay. The hostname becomes settleguard unless someone chose another
# (Raspberry Pi Imager's settings): on a LAN with two guards, avahi answers the second as
# settleguard-2.local.
set -euo pipefail

STATE="${SETTLE_GUARD_STATE:-/var/lib/settle-guard}"
MARK="$STATE/firstboot"
RESET="${SETTLE_GUARD_RESET:-/boot/firmware/settleguard-reset.txt}"
WANTED=settleguard

forget_web_logins() {
    for file in web.db web.db-wal web.db-shm; do
        if [ -e "$STATE/$file" ]; then
            rm -f -- "$STATE/$file"
            echo "firstboot: removed $STATE/$file ($1)"
        fi
    done
}

if [ -e "$RESET" ]; then
    forget_web_logins "$RESET was on the card"
    rm -f -- "$RESET" # once: the next boot keeps the password chosen after this one
    sync
    echo "firstboot: the page's password and API tokens cleared: a new setup code"
fi

if [ ! -e "$MARK" ]; then
    echo "firstboot: $MARK is gone: nothing to do"
    exit 0
fi

forget_web_logins "web logins copied with the image"

current="$(cat /etc/hostname 2>/dev/null || true)"
case "$current" in
    "" | raspberrypi | localhost | debian)
        echo "$WANTED" >/etc/hostname
        # the running name too (hostnamed may not be up this early), but only when booted:
        # in an image build's chroot the kernel's name is the build machine's
        if [ -d /run/systemd/system ]; then
            hostname "$WANTED" 2>/dev/null || true
        fi
        if grep -q '^127\.0\.1\.1[[:space:]]' /etc/hosts 2>/dev/null; then
            sed -i "s/^127\.0\.1\.1[[:space:]].*/127.0.1.1\t$WANTED/" /etc/hosts
        else
            printf '127.0.1.1\t%s\n' "$WANTED" >>/etc/hosts
        fi
        echo "firstboot: hostname $WANTED (was ${current:-unset})"
        ;;
    *) echo "firstboot: hostname $current kept" ;;
esac

rm -f -- "$MARK"
echo "firstboot: done"
