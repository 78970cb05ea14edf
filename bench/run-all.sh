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
# Every line a bench starts with TARGET (a row of issue 18's target table) is repeated in the summary at the end.
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
for b in "${benches[@]}"; do
  [ -f "$b" ] || continue
  echo "=== $b"
  node bench/run-ts.mjs "$b" | tee -a "$summary"
done

echo "=== targets (issue 18), each against its reference measured in this run"
grep -h 'TARGET' "$summary" | sed 's/^ *//' || true
for row in 'lines stored per second, direct' 'lines stored per second, runner' 'database bytes per line' \
  '40 hosts one command, direct, cold, vs parallel-ssh' '40 hosts runner mode vs parallel-ssh' '200 hosts one command, direct, cold, vs parallel-ssh' \
  'runner code upgrade transferred' 'deploy to 200 fresh hosts' 'app RSS during a 5M-line job'; do
  grep -q "TARGET $row" "$summary" || echo "TARGET $row: not measured (no bench measures it yet)"
done
