#!/usr/bin/env bash
# setup.sh: makes a machine ready to build, run and test Cronium Desktop (Debian 12, Node 20, as root or with sudo).
# Idempotent: installs only the Debian packages that are missing, runs npm ci only when node_modules is missing or
# older than package-lock.json, and checks that the native modules load. It never downloads from outside apt and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests and the app need from the system: sshd/ssh (harness), chromium (Playwright), gnome-keyring + dbus +
# libsecret (keychain; libsecret-1-dev lets keytar compile when its prebuilt cannot be fetched), xvfb (screenshots),
# iproute2/iptables (test hosts in network namespaces, cutting links), procps/psmisc (process checks), build tools
# (compiler, python3, pkg-config) for the native modules (better-sqlite3, keytar, ssh2); pssh (parallel-ssh) and
# ansible, the references `npm run bench` measures against.
packages=(
  openssh-server openssh-client chromium gnome-keyring dbus libsecret-1-dev xvfb
  iproute2 iptables procps psmisc build-essential pkg-config python3 ca-certificates
  pssh ansible
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing system packages (${missing[*]}) and no apt-get here: install them with your package manager." >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: installing ${missing[*]} needs root: run as root or install sudo." >&2
      exit 1
    fi
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Update the package index once, only when an install is needed (a fresh image has none).
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "setup: system packages present"
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node $(node -v) is too old: install Node 20 (the native modules and the toolchain are pinned to it)." >&2
  exit 1
fi

# Electron's binary cannot be downloaded here and is not needed to build or test: only its typings are used.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
else
  echo "setup: node_modules up to date"
fi

# A native module built for another ABI (electron-builder's rebuild, a Node upgrade) loads with an error: rebuild it.
for mod in better-sqlite3 keytar; do
  if ! node -e "require('$mod')" >/dev/null 2>&1; then
    echo "setup: rebuilding $mod for Node $(node -v)"
    npm rebuild "$mod" --loglevel=error
    node -e "require('$mod')"
  fi
done
node -e "const D=require('better-sqlite3'); const db=new D(':memory:'); db.prepare('select 1').get(); db.close()"

echo "setup: done"
