#!/usr/bin/env bash
# test-all.sh (npm test): every check a change must pass, in order: type checks, lint, builds, unit tests, integration
# tests (real sshd, real keyring) and browser tests, with the time each step took. Tests run inside with-keyring.sh.
# Always runs every step, so one failure does not hide another; the last line is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# One keyring session for the whole run: the runner build stores its development signing key there, and the tests
# that build variant artifacts must sign with that same key.
if [ "${CRONIUM_KEYRING_READY:-}" != "1" ]; then
  exec bash scripts/with-keyring.sh bash "$0" "$@"
fi

export ELECTRON_SKIP_BINARY_DOWNLOAD=1
# The build step below already built main, preload and renderer.
export CRONIUM_E2E_SKIP_BUILD=1
reports=".cache/test-reports"
rm -rf "$reports"
mkdir -p "$reports"

bin="node_modules/.bin"
step_lines=()
failed_steps=0
passed_tests=0
failed_tests=0

# run_step NAME CMD...: runs CMD, records its time and whether it passed.
run_step() {
  local name="$1"; shift
  local start end status=0
  echo
  echo "=== $name: $*"
  start="$(date +%s%N)"
  "$@" || status=$?
  end="$(date +%s%N)"
  local secs
  secs="$(awk -v ns="$((end - start))" 'BEGIN { printf "%.1f", ns / 1e9 }')"
  if [ "$status" -eq 0 ]; then
    step_lines+=("$(printf '  %-18s %8ss  ok' "$name" "$secs")")
  else
    step_lines+=("$(printf '  %-18s %8ss  FAILED (exit %d)' "$name" "$secs" "$status")")
    failed_steps=$((failed_steps + 1))
  fi
  return 0
}

# count_report KIND FILE STEP_STATUS: adds a JSON report's passed/failed tests to the totals. A test step that failed
# without writing a report (crash, config error) counts as one failed test, so the summary never reads "0 failed".
count_report() {
  local kind="$1" file="$2"
  local counts
  if [ -s "$file" ]; then
    counts="$(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
      if (process.argv[1] === "vitest") console.log(r.numPassedTests, r.numFailedTests + (r.success === false && r.numFailedTests === 0 ? 1 : 0));
      else console.log((r.stats.expected ?? 0) + (r.stats.flaky ?? 0), (r.stats.unexpected ?? 0) + (r.errors?.length && !r.stats.unexpected ? 1 : 0));
    ' "$kind" "$file")"
  else
    counts="0 1"
    echo "test-all: $file was not written: counting that step as one failure" >&2
  fi
  passed_tests=$((passed_tests + ${counts% *}))
  failed_tests=$((failed_tests + ${counts#* }))
}

run_step typecheck npm run --silent typecheck
run_step lint npm run --silent lint
run_step build npm run --silent build
if [ -f scripts/build-runner.mjs ]; then
  run_step build:runner npm run --silent build:runner
fi

run_step unit bash scripts/with-keyring.sh "$bin/vitest" run --project unit --passWithNoTests \
  --reporter=default --reporter=json --outputFile="$reports/unit.json"
count_report vitest "$reports/unit.json"

run_step integration bash scripts/with-keyring.sh "$bin/vitest" run --project integration --passWithNoTests \
  --reporter=default --reporter=json --outputFile="$reports/integration.json"
count_report vitest "$reports/integration.json"

if [ -f playwright.config.ts ]; then
  run_step e2e env PLAYWRIGHT_JSON_OUTPUT_NAME="$PWD/$reports/e2e.json" \
    bash scripts/with-keyring.sh "$bin/playwright" test --reporter=list,json
  count_report playwright "$reports/e2e.json"
fi

echo
echo "=== steps"
printf '%s\n' "${step_lines[@]}"
if [ "$failed_steps" -gt 0 ] && [ "$failed_tests" -eq 0 ]; then
  # A check (types, lint, build) failed but no test did: still not a pass.
  failed_tests="$failed_steps"
fi
echo "${passed_tests} passed, ${failed_tests} failed"
[ "$failed_steps" -eq 0 ] && [ "$failed_tests" -eq 0 ]
