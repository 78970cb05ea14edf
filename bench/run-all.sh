#!/usr/bin/env bash
# run-all.sh (npm run bench): runs every benchmark in bench/ one after the other, run by hand, never in CI.
# Installs what the reference tools need when missing (Debian: ansible, python3, openssh, pssh). Needs root (the harness sshd).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ansible >/dev/null 2>&1 || need+=(ansible)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v parallel-ssh >/dev/null 2>&1 || need+=(pssh)
if [ "${#need[@]}" -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi

# Each benchmark prints its own table; add new ones here.
benches=(bench/direct-ssh-bench.ts)
for extra in bench/*-bench.ts; do
  case " ${benches[*]} " in *" $extra "*) ;; *) benches+=("$extra") ;; esac
done
for b in "${benches[@]}"; do
  [ -f "$b" ] || continue
  echo "=== $b"
  node bench/run-ts.mjs "$b"
done
