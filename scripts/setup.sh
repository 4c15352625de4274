#!/usr/bin/env bash
# Prepare a working tree of Rostrum: Python virtualenv, the package in editable mode with its
# test and dev extras, and the web client's npm packages. Idempotent: a second run only checks.
#
#   bash scripts/setup.sh                 # what `scripts/run.sh` needs
#   SETUP_TEST=1 bash scripts/setup.sh    # also Debian packages the test suite needs
#                                         # (chromium, docker-compose, iproute2, redis-server,
#                                         #  janus for the benchmark's smoke run, gcc,
#                                         #  LibreOffice -nogui and Noto fonts for documents,
#                                         #  nginx for the webcast viewers' benchmark,
#                                         #  firefox-esr and pulseaudio for the Firefox
#                                         #  interop test, driven by web/'s puppeteer-core,
#                                         #  coturn for the TURN relay test, and
#                                         #  libnss3-tools' certutil, which puts the
#                                         #  TURN/TLS test's CA in Chromium's NSS store)
#   SETUP_FORCE=1 bash scripts/setup.sh   # reinstall the Python package and npm packages
#
# Quiet on success (one line per step); on failure the failing command's output is shown.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SETUP_TEST="${SETUP_TEST:-0}"
SETUP_FORCE="${SETUP_FORCE:-0}"
VENV="$ROOT/.venv"
STAMP="$VENV/.rostrum-setup-stamp"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command with its output captured; print the output only if it fails.
quiet() {
    local log rc=0
    log="$(mktemp)"
    "$@" >"$log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        printf 'setup: command failed (exit %d): %s\n' "$rc" "$*" >&2
        tail -n 80 "$log" >&2
        rm -f "$log"
        exit "$rc"
    fi
    rm -f "$log"
}

# ---------------------------------------------------------------- Debian packages (as root)
APT_UPDATED=0
apt_install() {
    [[ $# -gt 0 ]] || return 0
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: $*"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: $*"
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [[ $APT_UPDATED -eq 0 ]]; then
        quiet "${sudo[@]}" apt-get update -q
        APT_UPDATED=1
    fi
    quiet "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@"
    say "apt-get installed: $*"
}

# ---------------------------------------------------------------- Python >= 3.11
py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; }

find_python() {
    local cand
    for cand in "${PYTHON:-}" python3 python3.13 python3.12 python3.11 /usr/bin/python3; do
        [[ -n "$cand" ]] || continue
        if command -v "$cand" >/dev/null 2>&1 && py_ok "$cand"; then
            command -v "$cand"
            return 0
        fi
    done
    return 1
}

# A venv whose interpreter no longer runs (e.g. the base Python moved) is rebuilt.
if [[ -d "$VENV" ]] && ! py_ok "$VENV/bin/python"; then
    say "existing .venv is broken or too old; recreating it"
    rm -rf "$VENV"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    PY="$(find_python)" || die "no Python >= 3.11 found (set PYTHON=/path/to/python3.11)"
    if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian's own python3 needs python3-venv for ensurepip.
        rm -rf "$VENV"
        if [[ "$PY" == /usr/bin/python3* ]]; then
            apt_install python3-venv
        fi
        quiet "$PY" -m venv "$VENV"
    fi
    say "created .venv with $("$VENV/bin/python" -V 2>&1) ($PY)"
    SETUP_FORCE=1
fi

# ---------------------------------------------------------------- the C extension's needs
# sfu/_fanout.c (the send path in C, setup.py) needs a C compiler and libsrtp2's headers;
# pkg-config tells whether they are there. Without them the package still installs and the
# SFU forwards with its Python reference path.
c_missing=()
command -v cc >/dev/null 2>&1 || c_missing+=(gcc)
command -v pkg-config >/dev/null 2>&1 || c_missing+=(pkg-config)
if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libsrtp2; }; then
    c_missing+=(libsrtp2-dev)
fi
if [[ ${#c_missing[@]} -gt 0 ]]; then
    apt_install "${c_missing[@]}"
fi

# ---------------------------------------------------------------- the package, editable
# Reinstall only when pyproject.toml, setup.py or the C extension's source changed (or
# forced, or the package is not importable, or the extension was not built); an editable
# install picks up new Python modules by itself, not a changed C file.
want_stamp="$(cat pyproject.toml setup.py sfu/_fanout.c | sha256sum | cut -d' ' -f1)"
have_stamp="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$SETUP_FORCE" == "1" || "$want_stamp" != "$have_stamp" ]] \
    || ! "$VENV/bin/python" -m pip show -q rostrum >/dev/null 2>&1 \
    || ! "$VENV/bin/python" -c 'import sfu._fanout' >/dev/null 2>&1; then
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    quiet "$VENV/bin/python" -m pip install -q --upgrade pip
    quiet "$VENV/bin/python" -m pip install -q -e ".[test,dev]"
    printf '%s\n' "$want_stamp" >"$STAMP"
    say "installed rostrum (editable) with extras [test,dev] into .venv"
else
    say "python package up to date (.venv; pyproject.toml, setup.py, sfu/_fanout.c unchanged)"
fi

# ---------------------------------------------------------------- web client (npm)
if [[ -f web/package.json ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        apt_install nodejs npm
    fi
    # Browsers are never downloaded: tests use Debian's /usr/bin/chromium.
    export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
    npm_flags=(--no-audit --no-fund --loglevel=error)
    marker="web/node_modules/.package-lock.json"   # npm writes it after every install
    if [[ -f web/package-lock.json ]]; then
        if [[ "$SETUP_FORCE" == "1" || ! -f "$marker" || web/package-lock.json -nt "$marker" \
              || web/package.json -nt "$marker" ]]; then
            quiet npm --prefix web ci "${npm_flags[@]}"
            say "npm ci in web/"
        else
            say "web/node_modules up to date"
        fi
    else
        quiet npm --prefix web install "${npm_flags[@]}"
        say "npm install in web/ (no package-lock.json yet; one was written)"
    fi
else
    say "no web/package.json; skipped npm"
fi

# ---------------------------------------------------------------- test prerequisites
if [[ "$SETUP_TEST" == "1" ]]; then
    # binary -> Debian package that provides it
    declare -A PROVIDER=(
        [chromium]=chromium
        [docker-compose]=docker-compose
        [ip]=iproute2
        [tc]=iproute2
        [redis-server]=redis-server
        [redis-cli]=redis-tools
        [janus]=janus
        [cc]=gcc
        [nginx]=nginx
        [firefox-esr]=firefox-esr
        [pulseaudio]=pulseaudio
        [turnserver]=coturn
        [certutil]=libnss3-tools
    )
    missing=()
    for bin in chromium docker-compose ip tc redis-server redis-cli janus cc nginx firefox-esr \
               pulseaudio turnserver certutil; do
        if ! command -v "$bin" >/dev/null 2>&1; then
            pkg="${PROVIDER[$bin]}"
            [[ " ${missing[*]:-} " == *" $pkg "* ]] || missing+=("$pkg")
        fi
    done
    # documents/: LibreOffice headless converts Office uploads; Noto fonts draw Arabic and
    # Chinese pages (packages without a binary of their own: checked with dpkg-query)
    for pkg in libreoffice-writer-nogui libreoffice-impress-nogui libreoffice-calc-nogui \
               fonts-noto-core fonts-noto-cjk; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        apt_install "${missing[@]}"
    else
        say "test prerequisites present (chromium, docker-compose, iproute2, redis-server, janus, gcc, libreoffice, noto fonts, nginx, firefox-esr, pulseaudio, coturn, libnss3-tools)"
    fi
    # puppeteer-core (web/package.json, installed by npm ci above) drives Firefox over
    # WebDriver BiDi; it downloads no browser (PUPPETEER_SKIP_DOWNLOAD), Debian's is used
    [[ -d web/node_modules/puppeteer-core ]] || die "web/node_modules/puppeteer-core missing (npm --prefix web ci)"
fi

say "done"
