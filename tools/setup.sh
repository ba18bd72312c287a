#!/usr/bin/env bash
# One-command set-up for the software eUICC on Debian/Ubuntu.
#
#   sudo bash tools/setup.sh run  [euicc-emu run options]   # install, start pcscd, run the card
#   sudo bash tools/setup.sh test [pytest arguments]        # install, start pcscd, run the tests
#
# Both are idempotent and work as root or through sudo (sudo is used only for the steps that
# need root: apt-get and starting pcscd).  Under sudo the virtual environment, the card and the
# tests run as the invoking user (SUDO_USER), so the checkout stays owned by that user.
# Environment: EUICC_VENV (default <repo>/.venv), PYTHON (default python3).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EUICC_VENV:-$REPO/.venv}"
PYTHON="${PYTHON:-python3}"
PCSCD_SOCKET=/run/pcscd/pcscd.comm
# Debian package names; gcc/python3-dev/pkg-config are needed when pip must build pyscard;
# tshark decodes the card's GSMTAP/pcap traces in the tests; chromium renders the conformance HTML
# report in its test (tests/conformance).
PACKAGES=(pcscd vsmartcard-vpcd pcsc-tools opensc libpcsclite-dev swig libosmocore-utils python3-venv
          python3-dev gcc pkg-config tshark chromium)

say()  { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Run a command as root: directly when we are root, else through sudo when available.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -- "$@"
    else
        die "need root for: $* (run this script as root or install sudo)"
    fi
}

# Run a command as the invoking user: SUDO_USER when we were started through sudo.
as_user() {
    if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "${SUDO_USER}" != root ]; then
        sudo -u "$SUDO_USER" -H -- "$@"
    else
        "$@"
    fi
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_packages() {
    command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
        || die "this is not a Debian/Ubuntu system (no apt-get); install by hand: ${PACKAGES[*]}"
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "system packages present"
        return
    fi
    say "installing: ${missing[*]}"
    # wireshark-common (pulled in by tshark) asks whether non-root users may capture: answer no.
    if command -v debconf-set-selections >/dev/null 2>&1; then
        echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        || die "apt-get update failed (network? apt sources?)"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        for pkg in "${missing[@]}"; do
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" >/dev/null 2>&1 \
                || say "could not install '$pkg'"
        done
        case " ${missing[*]} " in
            *" vsmartcard-vpcd "*) is_installed vsmartcard-vpcd \
                || say "vsmartcard-vpcd is in Debian main (>= 11) and Ubuntu universe (enable it: add-apt-repository universe)";;
        esac
        die "some packages could not be installed (see above)"
    fi
    case " ${missing[*]} " in
        *" vsmartcard-vpcd "*|*" pcscd "*) RESTART_PCSCD=1;;
    esac
}

check_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "Python >= 3.11 is required ($("$PYTHON" -V 2>&1) found); set PYTHON=/path/to/python3.11"
}

setup_venv() {
    check_python
    local stamp="$VENV/.euicc-emu-installed" want
    want="$(sha256sum < "$REPO/pyproject.toml" | cut -d" " -f1)"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtual environment $VENV"
        as_user "$PYTHON" -m venv "$VENV" || die "could not create $VENV (is python3-venv installed?)"
    fi
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && as_user "$VENV/bin/python" -c 'import tools.cli, smartcard' 2>/dev/null; then
        say "virtual environment up to date"
        return
    fi
    say "installing the package into $VENV (pip install -e '.[test]')"
    as_user "$VENV/bin/python" -m pip install -q --upgrade pip \
        || die "pip could not upgrade itself (network?)"
    (cd "$REPO" && as_user "$VENV/bin/python" -m pip install -q -e '.[test]') \
        || die "pip install -e '.[test]' failed (see above)"
    echo "$want" | as_user tee "$stamp" >/dev/null
}

pcscd_running() {
    pgrep -x pcscd >/dev/null 2>&1 && [ -S "$PCSCD_SOCKET" ]
}

systemd_usable() {
    command -v systemctl >/dev/null 2>&1 || return 1
    case "$(systemctl is-system-running 2>/dev/null || true)" in
        running|degraded|starting|maintenance) return 0;;
        *) return 1;;
    esac
}

start_pcscd() {
    if pcscd_running && [ "${RESTART_PCSCD:-0}" = 1 ]; then
        say "restarting pcscd so that it loads the vpcd reader"
        if systemd_usable; then
            as_root systemctl restart pcscd.service
        else
            as_root kill "$(cat /run/pcscd/pcscd.pid)" || true
            sleep 1
        fi
    fi
    if pcscd_running; then
        say "pcscd is running"
        return
    fi
    say "starting pcscd"
    if systemd_usable; then
        as_root systemctl start pcscd.socket pcscd.service || die "systemctl start pcscd failed"
    else
        command -v pcscd >/dev/null 2>&1 || die "pcscd is not installed"
        as_root pcscd || die "pcscd did not start"
    fi
    local i
    for i in $(seq 1 50); do
        pcscd_running && { say "pcscd is up ($PCSCD_SOCKET)"; return; }
        sleep 0.2
    done
    die "pcscd did not come up (no $PCSCD_SOCKET after 10 s)"
}

main() {
    [ $# -ge 1 ] || usage
    local command="$1"
    shift
    case "$command" in
        run|test) ;;
        -h|--help|help) usage;;
        *) say "unknown command '$command'"; usage;;
    esac
    RESTART_PCSCD=0
    install_packages
    setup_venv
    start_pcscd
    cd "$REPO"
    if [ "$command" = run ]; then
        say "starting the card: euicc-emu run $*"
        exec_user "$VENV/bin/euicc-emu" run "$@"
    else
        say "running the tests: python -m pytest $*"
        exec_user "$VENV/bin/python" -m pytest "$@"
    fi
}

# Replace this shell with the command, as the invoking user (signals reach the card directly).
exec_user() {
    if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "${SUDO_USER}" != root ]; then
        exec sudo -u "$SUDO_USER" -H -- "$@"
    else
        exec "$@"
    fi
}

main "$@"
