#!/usr/bin/env bash
# Packaging dry run: checks electron-builder.yml's file selection offline. electron-builder cannot finish a real package
# here (it downloads Electron), so it packs against a stand-in Electron folder (TOOLBOX.md) and this script then reads
# app.asar to verify the migrations, resources, built code and native modules are where the packaged app looks.
# The stand-in carries a fuse wire laid out as in a real Electron binary (with Electron's default states), so
# electron-builder's own fuse step (electronFuses in electron-builder.yml, @electron/fuses) really flips it, and this
# script reads every fuse back from the packed executable. What it does not prove: that a real Electron binary of this
# version has the same wire (@electron/fuses refuses a wire it does not know, so a real `npm run dist` fails loudly).
# It leaves node_modules as it found it: a native module changed by the packer is rebuilt for Node again.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d -t cronium-package-dry-XXXXXX)"
natives=(node_modules/better-sqlite3/build/Release/better_sqlite3.node node_modules/keytar/build/Release/keytar.node)
declare -A before=()
for f in "${natives[@]}"; do before[$f]="$( [ -f "$f" ] && sha256sum "$f" | cut -d' ' -f1 || echo missing)"; done

restore_natives() {
  for f in "${natives[@]}"; do
    now="$( [ -f "$f" ] && sha256sum "$f" | cut -d' ' -f1 || echo missing)"
    if [ "$now" != "${before[$f]}" ]; then
      mod="$(echo "$f" | cut -d/ -f2)"
      echo "package-dry-run: $f changed during packaging; rebuilding $mod for Node" >&2
      npm rebuild "$mod" >/dev/null
    fi
  done
  rm -rf "$work"
}
trap restore_natives EXIT

npm run build

# A folder holding a dummy 'electron' executable stands in for the Electron zip electron-builder would download. After
# the script's exit come the fuse sentinel, the wire version (1), its length (8) and Electron's default states ('1' on,
# '0' off): RunAsNode 1, CookieEncryption 0, NodeOptions 1, NodeCliInspect 1, AsarIntegrity 0, OnlyLoadAppFromAsar 0,
# BrowserV8Snapshot 0, FileProtocolExtraPrivileges 1.
mkdir -p "$work/electron-dist"
{
  printf '#!/bin/sh\necho "stand-in Electron for the packaging dry run" >&2\nexit 1\n'
  printf 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX\001\01010110001\n'
} > "$work/electron-dist/electron"
chmod +x "$work/electron-dist/electron"

echo "package-dry-run: packing with electron-builder (linux dir, no native rebuild)"
CRONIUM_UPDATE_URL="${CRONIUM_UPDATE_URL:-https://updates.invalid/cronium}" \
  node_modules/.bin/electron-builder --linux dir \
  -c.npmRebuild=false \
  -c.electronDist="$work/electron-dist" \
  -c.directories.output="$work/out" \
  --publish never >"$work/builder.log" 2>&1 || { cat "$work/builder.log" >&2; echo "package-dry-run: electron-builder failed" >&2; exit 1; }

resources="$work/out/linux-unpacked/resources"
asar="$resources/app.asar"
[ -f "$asar" ] || { echo "package-dry-run: no app.asar produced at $asar" >&2; exit 1; }
node_modules/.bin/asar list "$asar" > "$work/asar.txt"

failures=0
check() { # check <description> <command...>
  local what="$1"; shift
  if "$@"; then echo "  ok    $what"; else echo "  MISSING $what" >&2; failures=$((failures + 1)); fi
}
in_asar() { grep -qxF "$1" "$work/asar.txt"; }
not_in_asar() { ! grep -q "$1" "$work/asar.txt"; }
unpacked() { [ -n "$(find "$resources/app.asar.unpacked" -path "*$1" -type f 2>/dev/null | head -1)" ]; }

echo "package-dry-run: verifying $asar"
check "package.json" in_asar /package.json
main_entry="$(node -e "const a=require('@electron/asar');process.stdout.write(JSON.parse(a.extractFile(process.argv[1],'package.json')).main||'')" "$asar")"
check "package.json main ($main_entry) is packed" in_asar "/${main_entry#./}"
check "dist/main/electron-main.cjs" in_asar /dist/main/electron-main.cjs
check "dist/preload/preload.cjs" in_asar /dist/preload/preload.cjs
check "dist/renderer/index.html" in_asar /dist/renderer/index.html
for m in migrations/*.sql; do check "$m" in_asar "/$m"; done
check "resources/icons/icon.png" in_asar /resources/icons/icon.png
check "resources/icons/tray.png and tray@2x.png" bash -c "grep -qxF /resources/icons/tray.png '$work/asar.txt' && grep -qxF /resources/icons/tray@2x.png '$work/asar.txt'"
if [ -f resources/keys/runner-release.pub.pem ]; then check "resources/keys/runner-release.pub.pem" in_asar /resources/keys/runner-release.pub.pem; fi
check "no development keys" not_in_asar '/resources/keys/.*dev'
check "no renderer-only libraries (react) in node_modules" not_in_asar '^/node_modules/react/'
check "better-sqlite3 JS in the archive" in_asar /node_modules/better-sqlite3/package.json
check "better_sqlite3.node unpacked" unpacked /better-sqlite3/build/Release/better_sqlite3.node
check "keytar.node unpacked" unpacked /keytar/build/Release/keytar.node
check "ssh2 crypto binding unpacked" unpacked /ssh2/lib/protocol/crypto/build/Release/sshcrypto.node
check "electron-updater in the archive" in_asar /node_modules/electron-updater/package.json
if [ -d resources/runner-artifacts ] && [ -n "$(find resources/runner-artifacts -type f | head -1)" ]; then
  first="$(cd resources && find runner-artifacts -type f | sort | head -1)"
  check "runner artifacts unpacked (resources/$first)" test -f "$resources/app.asar.unpacked/resources/$first"
fi
check "app-update.yml (updater feed)" test -f "$resources/app-update.yml"

# Electron fuses, read back from the packed executable (electron-builder flipped them from electronFuses).
executable="$work/out/linux-unpacked/$(node -e "process.stdout.write(require('js-yaml').load(require('fs').readFileSync('electron-builder.yml','utf8')).linux.executableName)")"
fuse_states="$(node -e "
  const { getCurrentFuseWire, FuseV1Options } = require('@electron/fuses');
  getCurrentFuseWire(process.argv[1]).then((wire) => {
    for (let i = 0; FuseV1Options[i] !== undefined; i++) console.log(FuseV1Options[i] + '=' + String.fromCharCode(wire[i]));
  }, (err) => { console.error(err.message); process.exit(1); });
" "$executable")" || { echo "package-dry-run: could not read the fuses of $executable" >&2; failures=$((failures + 1)); }
fuse() { # fuse <name> <expected 0|1>
  grep -qxF "$1=$2" <<<"$fuse_states"
}
check "fuse RunAsNode off" fuse RunAsNode 0
check "fuse EnableNodeOptionsEnvironmentVariable off" fuse EnableNodeOptionsEnvironmentVariable 0
check "fuse EnableNodeCliInspectArguments off" fuse EnableNodeCliInspectArguments 0
check "fuse EnableEmbeddedAsarIntegrityValidation on" fuse EnableEmbeddedAsarIntegrityValidation 1
check "fuse OnlyLoadAppFromAsar on" fuse OnlyLoadAppFromAsar 1
check "fuse EnableCookieEncryption on" fuse EnableCookieEncryption 1
check "fuse GrantFileProtocolExtraPrivileges off" fuse GrantFileProtocolExtraPrivileges 0

if [ "$failures" -gt 0 ]; then
  echo "package-dry-run: $failures check(s) failed; see above. Files packed: $(wc -l < "$work/asar.txt")" >&2
  exit 1
fi
echo "package-dry-run: all checks passed ($(wc -l < "$work/asar.txt") entries in app.asar, $(du -sh "$asar" | cut -f1))"
