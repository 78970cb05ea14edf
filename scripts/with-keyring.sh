#!/usr/bin/env bash
# with-keyring.sh CMD [ARGS...]: runs CMD inside a private D-Bus session holding a throwaway GNOME Keyring, unlocked
# with a random password, in fresh XDG folders, so keychain tests meet a real Secret Service without touching anyone's
# own keyring. For tests only: whatever CMD stores there is deleted when CMD exits. Exits with CMD's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

# Already inside a usable session (a desktop, or an outer with-keyring.sh): nothing to set up.
if [ "${CRONIUM_KEYRING_READY:-}" = "1" ]; then
  exec "$@"
fi

for bin in dbus-run-session gnome-keyring-daemon; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "with-keyring.sh: '$bin' is missing: apt-get install -y dbus gnome-keyring (or run: npm run setup)" >&2
    exit 127
  fi
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/cronium-keyring.XXXXXX")"
# gnome-keyring-daemon does not always exit when its bus closes (seen when CMD never talked to it): stop the one
# this session started, found by the private runtime folder in its environment, so nothing is left running.
stop_keyring_daemon() {
  local environ pid
  for environ in /proc/[0-9]*/environ; do
    pid="${environ#/proc/}"
    pid="${pid%/environ}"
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "gnome-keyring-d" ] &&
      grep -qzxF "XDG_RUNTIME_DIR=$tmp/runtime" "$environ" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  done
}
trap 'stop_keyring_daemon; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$tmp/data" "$tmp/runtime"
chmod 700 "$tmp/runtime"

export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/runtime" CRONIUM_KEYRING_READY=1
# A fresh keyring is created with whatever password unlocks it first; nobody needs to know this one.
CRONIUM_KEYRING_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
export CRONIUM_KEYRING_PASSWORD

# Inside the session: start the daemon unlocked (it prints its control socket's address, not wanted), forget the
# password, then run CMD. dbus-run-session is not exec'd, so the EXIT trap above still runs afterwards.
# shellcheck disable=SC2016
dbus-run-session -- bash -c '
  printf %s "$CRONIUM_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  unset CRONIUM_KEYRING_PASSWORD
  exec "$@"
' with-keyring "$@"
