#!/usr/bin/env bash
# Install (or uninstall) the front-desk kiosk on a Debian / Raspberry Pi OS box.
# Run through the Makefile:  sudo make install   |   sudo make uninstall
# See docs/operator-guide.md ("Installing") for what it does, step by step.
#
# Variables (environment, or `make install VAR=value`):
#   DESTDIR     stage into this folder instead of /; nothing on the real system is touched:
#               no apt-get, useradd, chown, systemctl or udevadm (printed as "would run: …")
#   PREFIX      where the program lives (default /opt/kiosk; the venv is PREFIX/venv)
#   SKIP_VENV=1 do not create/update PREFIX/venv (tests, or packaging the venv separately)
#   PIP_ARGS    extra pip arguments, e.g. "--no-index --find-links /media/usb/wheels" offline
#   PYTHON      interpreter the venv is made from (default python3, i.e. Debian's)
#   KIOSK_CMD   command used to generate files from the config (default PREFIX/venv/bin/kiosk,
#               else the checkout's .venv; tests pass "python -m kiosk.cli")
# Running it twice changes nothing the second time: files are only replaced when their
# content differs (install -C), the config is never overwritten, the venv is only rebuilt
# when the source changed.
set -euo pipefail

MODE=${1:-install}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
PREFIX=${PREFIX:-/opt/kiosk}
PREFIX=${PREFIX%/}
SKIP_VENV=${SKIP_VENV:-0}
PIP_ARGS=${PIP_ARGS:-}
PYTHON=${PYTHON:-python3}

KIOSK_USER=kiosk
CONFDIR=/etc/kiosk
STATEDIR=/var/lib/kiosk
BROWSERDIR=/var/lib/kiosk-browser
UNITDIR=/etc/systemd/system
UDEVDIR=/etc/udev/rules.d
BINDIR=/usr/local/bin
VENV=$PREFIX/venv
UNITS="kiosk.service kiosk-sync.service kiosk-browser.service kiosk-backup.service kiosk-backup.timer kiosk-purge.service kiosk-purge.timer kiosk-central.service"
ENABLE="kiosk.service kiosk-sync.service kiosk-browser.service kiosk-backup.timer kiosk-purge.timer"
RUNTIME_PACKAGES="python3 python3-venv libzbar0 espeak-ng alsa-utils chromium cage fonts-wqy-microhei curl sqlite3"

D=$DESTDIR
STAGED=0
[ -n "$DESTDIR" ] && STAGED=1

say() { printf '%s\n' "$*"; }
# Commands that change the real system: run them, or only say them when staging.
sys() {
    local shown
    shown=$(printf ' %q' "$@")
    if [ "$STAGED" = 1 ]; then say "would run:$shown"; else say "+$shown"; "$@"; fi
}
die() { say "error: $*" >&2; exit 1; }

if [ "$STAGED" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root: sudo make $MODE   (or stage it: make $MODE DESTDIR=/tmp/stage)"
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# put_file SRC DEST MODE [OWNER:GROUP]: replace DEST only when content/mode differ
put_file() {
    local src=$1 dest=$2 mode=$3 owner=${4:-}
    [ -d "$(dirname "$D$dest")" ] || install -d -m 0755 "$(dirname "$D$dest")"
    if [ -n "$owner" ] && [ "$STAGED" = 0 ]; then
        install -C -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$D$dest"
    else
        install -C -m "$mode" "$src" "$D$dest"
        [ -n "$owner" ] && say "would run: chown $owner $dest"
    fi
    return 0
}

# put_dir DIR MODE [OWNER:GROUP]
put_dir() {
    local dir=$1 mode=$2 owner=${3:-}
    if [ -n "$owner" ] && [ "$STAGED" = 0 ]; then
        install -d -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$D$dir"
    else
        install -d -m "$mode" "$D$dir"
        [ -n "$owner" ] && say "would run: chown $owner $dir"
    fi
    return 0
}

# The unit files name /opt/kiosk; follow PREFIX.
with_prefix() { sed "s|/opt/kiosk|$PREFIX|g" "$1"; }

kiosk_cmd() {
    if [ -n "${KIOSK_CMD:-}" ]; then
        # shellcheck disable=SC2086
        $KIOSK_CMD "$@"
    elif [ -x "$D$VENV/bin/kiosk" ]; then
        "$D$VENV/bin/kiosk" "$@"
    elif [ -x "$SRC/.venv/bin/kiosk" ]; then
        "$SRC/.venv/bin/kiosk" "$@"
    else
        die "no kiosk command to generate the udev rules with (set KIOSK_CMD)"
    fi
}

systemd_booted() { [ "$STAGED" = 0 ] && [ -d /run/systemd/system ]; }

# ----------------------------------------------------------------------------- install
install_packages() {
    local missing="" p
    for p in $RUNTIME_PACKAGES; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        sys apt-get update -qq
        # shellcheck disable=SC2086
        sys env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
    fi
}

create_user() {
    if [ "$STAGED" = 1 ] || ! getent passwd "$KIOSK_USER" >/dev/null; then
        sys useradd --system --user-group --home-dir "$STATEDIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "front-desk kiosk" "$KIOSK_USER"
    fi
    # The device groups are given per service (SupplementaryGroups= in the units), not to
    # the account, so an interactive `sudo kiosk …` never has device access it does not need.
}

source_digest() {
    # what goes into the package: everything but the checkout's own state
    (cd "$1" && find . -type f ! -path './.git/*' ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

install_venv() {
    if [ "$SKIP_VENV" = 1 ]; then
        say "SKIP_VENV=1: not creating or updating $VENV"
        return 0
    fi
    local build=$TMP/src digest
    mkdir -p "$build"
    # build from a clean copy: the checkout is never written to, by pip or by pybabel
    tar -C "$SRC" --exclude=./.venv --exclude=./.git --exclude=./var --exclude=./build --exclude=./dist \
        --exclude=./screenshots --exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache \
        --exclude=.hypothesis --exclude=.ruff_cache -cf - . | tar -C "$build" -xf -
    digest=$(source_digest "$build")
    if [ -x "$D$VENV/bin/kiosk" ] && [ "$(cat "$D$VENV/.kiosk-source" 2>/dev/null)" = "$digest" ]; then
        say "venv $VENV is up to date"
        return 0
    fi
    [ -x "$D$VENV/bin/python" ] || "$PYTHON" -m venv "$D$VENV"
    # shellcheck disable=SC2086
    "$D$VENV/bin/pip" install -q $PIP_ARGS Babel
    # compile the translations into the copy so the package carries the .mo files
    "$D$VENV/bin/pybabel" -q compile -d "$build/kiosk/web/translations"
    # the dependencies, then this exact source even when its version number did not change
    # shellcheck disable=SC2086
    "$D$VENV/bin/pip" install -q $PIP_ARGS "$build"
    # shellcheck disable=SC2086
    "$D$VENV/bin/pip" install -q $PIP_ARGS --force-reinstall --no-deps "$build"
    printf '%s\n' "$digest" >"$D$VENV/.kiosk-source"
}

install_config() {
    put_dir "$CONFDIR" 0750 "root:$KIOSK_USER"
    put_file "$SRC/deploy/kiosk.toml.example" "$CONFDIR/kiosk.toml.example" 0640 "root:$KIOSK_USER"
    if [ -e "$D$CONFDIR/kiosk.toml" ]; then
        say "keeping the existing $CONFDIR/kiosk.toml (the new example is $CONFDIR/kiosk.toml.example)"
    else
        put_file "$SRC/deploy/kiosk.toml.example" "$CONFDIR/kiosk.toml" 0640 "root:$KIOSK_USER"
        say "wrote $CONFDIR/kiosk.toml from the example: set [site] id and name, and the devices"
    fi
    kiosk_cmd config show --config "$D$CONFDIR/kiosk.toml" >/dev/null \
        || die "$CONFDIR/kiosk.toml is not a valid config (see the message above)"
}

install_units() {
    local u
    for u in $UNITS; do
        with_prefix "$SRC/systemd/$u" >"$TMP/$u"
        put_file "$TMP/$u" "$UNITDIR/$u" 0644
    done
}

install_udev() {
    kiosk_cmd udev-rules --config "$D$CONFDIR/kiosk.toml" >"$TMP/70-kiosk.rules"
    put_file "$TMP/70-kiosk.rules" "$UDEVDIR/70-kiosk.rules" 0644
}

install_wrappers() {
    local cmd
    for cmd in kiosk kiosk-sync; do
        cat >"$TMP/$cmd" <<EOF
#!/bin/sh
# \`$cmd …\` for the technician: the installed command with the installed config, run as
# the kiosk user when called with sudo (so no file in $STATEDIR ends up owned by root).
export KIOSK_CONFIG="\${KIOSK_CONFIG:-$CONFDIR/kiosk.toml}"
if [ "\$(id -u)" = 0 ]; then
    exec runuser -u $KIOSK_USER -- $VENV/bin/$cmd "\$@"
fi
exec $VENV/bin/$cmd "\$@"
EOF
        put_file "$TMP/$cmd" "$BINDIR/$cmd" 0755
    done
}

install_docs() {
    put_dir "$PREFIX" 0755
    put_dir "$PREFIX/doc" 0755
    put_file "$SRC/docs/operator-guide.md" "$PREFIX/doc/operator-guide.md" 0644
    put_file "$SRC/docs/config-reference.md" "$PREFIX/doc/config-reference.md" 0644
    put_file "$SRC/docs/central.md" "$PREFIX/doc/central.md" 0644
    put_file "$SRC/docs/phone-pages.md" "$PREFIX/doc/phone-pages.md" 0644
}

activate() {
    sys udevadm control --reload-rules
    sys udevadm trigger --action=add --subsystem-match=tty --subsystem-match=usbmisc --subsystem-match=usb
    if [ "$STAGED" = 1 ] || systemd_booted; then
        sys systemctl daemon-reload
        # shellcheck disable=SC2086
        sys systemctl enable $ENABLE
        sys systemctl restart kiosk.service kiosk-sync.service
        sys systemctl start kiosk-backup.timer kiosk-purge.timer kiosk-browser.service
    else
        # not booted with systemd (a container, a chroot): enable for the next boot only
        # shellcheck disable=SC2086
        sys systemctl enable $ENABLE
    fi
}

do_install() {
    say "installing the front-desk kiosk into ${DESTDIR:-/} (PREFIX=$PREFIX)"
    install_packages
    create_user
    put_dir "$STATEDIR" 0750 "$KIOSK_USER:$KIOSK_USER"
    put_dir "$STATEDIR/backups" 0750 "$KIOSK_USER:$KIOSK_USER"
    put_dir "$BROWSERDIR" 0700 "$KIOSK_USER:$KIOSK_USER"
    install_docs
    install_venv
    install_config
    install_units
    install_udev
    install_wrappers
    activate
    say "done. Health: curl http://127.0.0.1:8080/healthz   Logs: journalctl -u kiosk"
}

# --------------------------------------------------------------------------- uninstall
remove() {
    local path
    for path in "$@"; do
        if [ -e "$D$path" ] || [ -L "$D$path" ]; then
            say "removing $path"
            rm -rf -- "$D$path"
        fi
    done
}

do_uninstall() {
    local u
    say "uninstalling the front-desk kiosk from ${DESTDIR:-/} (data and config are kept)"
    if [ "$STAGED" = 1 ] || systemd_booted; then
        # shellcheck disable=SC2086
        sys systemctl disable --now $ENABLE
    fi
    for u in $UNITS; do remove "$UNITDIR/$u"; done
    [ "$STAGED" = 1 ] || ! command -v systemctl >/dev/null || systemctl daemon-reload || true
    [ "$STAGED" = 0 ] || say "would run: systemctl daemon-reload"
    remove "$UDEVDIR/70-kiosk.rules" "$BINDIR/kiosk" "$BINDIR/kiosk-sync" "$CONFDIR/kiosk.toml.example" "$BROWSERDIR" "$PREFIX"
    sys udevadm control --reload-rules
    say "kept: $STATEDIR (database, backups, keys), $CONFDIR/kiosk.toml (this site's config) and the"
    say "      '$KIOSK_USER' user. Remove them by hand to wipe the box: rm -rf $STATEDIR $CONFDIR; userdel $KIOSK_USER"
}

case "$MODE" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    *) die "usage: $0 install|uninstall" ;;
esac
