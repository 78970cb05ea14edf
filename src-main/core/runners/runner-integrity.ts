/**
 * Runner integrity: proof, before every use, that the runner file on a server is the one Cronium deployed. At deploy
 * the file's fingerprint (size, inode, device, mtime and ctime in nanoseconds, from lstat) is recorded beside its
 * signed sha256. Before a job starts, a re-attach, a cancel or a health check, a shell guard compares the fingerprint
 * inside the same exec that runs the runner (no extra round trip) and exits INTEGRITY_EXIT_CODE instead of running it
 * when they differ. A difference is then settled by a full sha256 on the server (fullCheckScript): same bytes (a
 * touch, a chmod, a restore by a backup tool) renews the fingerprint; other bytes mean tampered. Pure strings and
 * parsing only: who records and who redeploys is RunnerService's business.
 * A runner deployed as runtime + code bundle (a server without Node) is guarded in two parts: the runtime (the Node
 * binary, 80+ MB) by its fingerprint as above, and the code bundle (< 1 MB) by a full sha256 on every use, compared
 * with the signed one. A mismatch of either exits INTEGRITY_EXIT_CODE and nothing runs.
 * A js bundle run under the server's own node is guarded also against that node being gone (every use: a shell
 * builtin, free) or older than RUNNER_MIN_NODE_MAJOR (health checks: `node -v` costs tens of ms); RunnerService then
 * redeploys it with a runtime.
 */
import { INTEGRITY_EXIT_CODE, RUNNER_MIN_NODE_MAJOR, type RunnerKind } from '../../../src-shared/protocol/runner-info';
import { AppError } from '../errors';
import { shellQuote } from '../ssh/shell-quote';

/** The exit status of a guard that refused to run the runner (chosen outside the runner's own exit codes). */
export { INTEGRITY_EXIT_CODE };
/** A full sha256 at a health check when the last one is older than this (the fingerprint is checked every time). */
export const FULL_HASH_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** "size:inode:device:mtime:ctime" as the server's stat prints it; opaque, compared as a whole. */
export type RunnerFingerprint = string;

/**
 * A POSIX shell function `fp FILE` printing the fingerprint of FILE itself (not of a symlink's target: a symlink put
 * in its place has its own inode). GNU stat with nanoseconds, older GNU stat in seconds, BSD stat (macOS) last.
 */
export const FINGERPRINT_FUNCTION = `fp() {\n  ${statOf('"$1"')}\n}`;

/** The stat command printing the fingerprint of `arg` (a shell word, already quoted). */
function statOf(arg: string): string {
  return `stat -c '%s:%i:%d:%.9Y:%.9Z' ${arg} 2>/dev/null || stat -c '%s:%i:%d:%Y:%Z' ${arg} 2>/dev/null || stat -f '%z:%i:%d:%Fm:%Fc' ${arg} 2>/dev/null`;
}

/** A POSIX shell function `sha FILE` printing the file's sha256 with whichever tool the server has. */
const SHA_BRANCHES = [
  // The hash is cut out of the tool's line by the shell (no `cut` or `sed` process): "<hash>  <file>", or openssl's
  // "SHA2-256(<file>)= <hash>". An empty line when the tool failed.
  'if command -v sha256sum >/dev/null 2>&1; then cronium_h=$(sha256sum "$1") && echo "${cronium_h%% *}";',
  'elif command -v shasum >/dev/null 2>&1; then cronium_h=$(shasum -a 256 "$1") && echo "${cronium_h%% *}";',
  'elif command -v openssl >/dev/null 2>&1; then cronium_h=$(openssl dgst -sha256 "$1") && echo "${cronium_h##*= }";',
  'fi',
];
export const SHA_FUNCTION = ['sha() {', ...SHA_BRANCHES.map((b) => `  ${b}`), '}'].join('\n');

/** The runtime a code bundle runs under (runner-deployer.ts): recorded with the deployment. */
export interface GuardedRuntime {
  path: string;
  sha256: string;
  fingerprint: RunnerFingerprint | null;
}

export interface GuardedRunner {
  path: string;
  /** 'js' without a runtime runs under the server's node: the guard checks that node is still there. */
  kind?: RunnerKind | null;
  fingerprint: RunnerFingerprint | null;
  /** Set for a code bundle run under a deployed runtime: the bundle's signed sha256, hashed in full on every use. */
  sha256?: string | null;
  runtime?: GuardedRuntime | null;
}

/** The same `sha` for guards, on one line and named so it cannot clash with anything in the exec. */
const SHA_ONE_LINE = `cronium_sha() { ${SHA_BRANCHES.join(' ')}; }; `;

/** Compares FILE's fingerprint with the recorded one; on a difference prints `<tag>=<seen>` on stderr and exits 97. */
function fingerprintCheck(path: string, fingerprint: RunnerFingerprint, tag: string): string {
  return (
    `cronium_fp=$(${statOf(shellQuote(path))}); ` +
    `if [ "$cronium_fp" != ${shellQuote(fingerprint)} ]; then echo "${tag}=$cronium_fp" >&2; exit ${INTEGRITY_EXIT_CODE}; fi; `
  );
}

/**
 * Shell that runs before the runner in the same exec: when the file's fingerprint is not the recorded one it prints
 * `cronium-integrity=<seen>` on stderr and exits INTEGRITY_EXIT_CODE, so nothing of that file runs. Empty (no check)
 * only for a deployment recorded before fingerprints existed; RunnerService records one before such a runner is used.
 */
export function integrityGuard(runner: GuardedRunner, opts: { nodeVersion?: boolean } = {}): string {
  if (runner.runtime) {
    // Fail closed: a runtime recorded without its fingerprint, or a bundle without its signed sha256, is refused
    // (RunnerService settles it with a full hash) rather than run with a part unchecked.
    const { sha256 } = runner;
    const { path: runtimePath, fingerprint: runtimeFp } = runner.runtime;
    if (!sha256 || !runtimeFp) {
      return `echo "${REFUSAL_TAG.runtime}=unrecorded" >&2; exit ${INTEGRITY_EXIT_CODE}; `;
    }
    // Runtime: its fingerprint (stat). Code bundle: its full sha256 (a few ms for < 1 MB), not its fingerprint.
    const runtimeCheck = fingerprintCheck(runtimePath, runtimeFp, REFUSAL_TAG.runtime);
    return (
      runtimeCheck +
      SHA_ONE_LINE +
      `cronium_s=$( [ -f ${shellQuote(runner.path)} ] && [ ! -L ${shellQuote(runner.path)} ] && cronium_sha ${shellQuote(runner.path)} ); ` +
      `if [ "$cronium_s" != ${shellQuote(sha256)} ]; then echo "${REFUSAL_TAG.sha}=$cronium_s" >&2; exit ${INTEGRITY_EXIT_CODE}; fi; `
    );
  }
  if (!runner.fingerprint) return '';
  const nodeCheck = runner.kind === 'js' ? serverNodeCheck(opts.nodeVersion === true) : '';
  return nodeCheck + fingerprintCheck(runner.path, runner.fingerprint, REFUSAL_TAG.file);
}

/**
 * A shell function: `cronium_node_ok` succeeds when the `node` on the PATH is one no other user of the server can
 * replace: an absolute path whose binary (its symlink target) and every folder above the link and the target are owned
 * by root or this user and writable by neither group nor others (a folder may be, with the sticky bit). A root:staff
 * 2775 /usr/local/bin fails: any staff member could swap the binary the runner, its job key and the job's secrets
 * would then run under. One readlink, one stat (and one id outside bash).
 * Returns 1 when there is no node, 2 when there is one others could replace (its path is then in $cronium_node).
 */
export const SERVER_NODE_FUNCTION =
  'cronium_node_ok() { cronium_node=$(command -v node 2>/dev/null) || return 1; ' +
  'case "$cronium_node" in /*) ;; *) return 2 ;; esac; ' +
  'cronium_nr=$(readlink -f "$cronium_node" 2>/dev/null) && [ -n "$cronium_nr" ] || return 2; set -- "$cronium_nr"; ' +
  'for cronium_p in "${cronium_node%/*}" "${cronium_nr%/*}"; do while [ -n "$cronium_p" ]; do set -- "$@" "$cronium_p"; cronium_p=${cronium_p%/*}; done; done; ' +
  "cronium_o=$(stat -Lc '%u %a' \"$@\" / 2>/dev/null || stat -Lf '%u %Mp%Lp' \"$@\" / 2>/dev/null) && [ -n \"$cronium_o\" ] || return 2; " +
  // The binary first (never group/other-writable), then its folders: one writable by others only with the sticky
  // bit (like /tmp: nobody may then rename or delete what another user owns in it).
  // Always `id -u`: EUID is bash's own only in bash; elsewhere the login environment could set it.
  'cronium_me=$(id -u); cronium_f=1; set -- $cronium_o; ' +
  'while [ $# -ge 2 ]; do { [ "$1" = 0 ] || [ "$1" = "$cronium_me" ]; } || return 2; ' +
  'case "$2" in *[2367]? | *[2367]) [ $cronium_f = 0 ] && case "$2" in [1357]???) true ;; *) false ;; esac || return 2 ;; esac; ' +
  'cronium_f=0; shift 2; done; [ $# -eq 0 ]; }; ';

/** What the guard prints for a node other users could replace: `replaceable:<its path>`. */
const REPLACEABLE = 'replaceable:';

/**
 * The server's node, for a bundle run under it: present and not replaceable by another user (SERVER_NODE_FUNCTION)
 * and, with `version`, at least RUNNER_MIN_NODE_MAJOR. Otherwise prints `cronium-integrity-node=<'' for none,
 * replaceable:<path>, or node -v>` and exits 97.
 */
function serverNodeCheck(version: boolean): string {
  const refuse = (seen: string) => `echo "${REFUSAL_TAG.node}=${seen}" >&2; exit ${INTEGRITY_EXIT_CODE}`;
  const trusted =
    `${SERVER_NODE_FUNCTION}cronium_node_ok; cronium_nk=$?; ` +
    `if [ $cronium_nk = 1 ]; then ${refuse('')}; elif [ $cronium_nk != 0 ]; then ${refuse(`${REPLACEABLE}$cronium_node`)}; fi; `;
  if (!version) return trusted;
  return (
    trusted +
    'cronium_nv=$(node -v 2>/dev/null); cronium_nm=${cronium_nv#v}; cronium_nm=${cronium_nm%%.*}; ' +
    `case "$cronium_nm" in ''|*[!0-9]*) cronium_nm=0 ;; esac; if [ "$cronium_nm" -lt ${RUNNER_MIN_NODE_MAJOR} ]; then ${refuse('$cronium_nv')}; fi; `
  );
}

/** The stderr tags a refusing guard prints (`<tag>=<what it saw>`), by the part that was refused. */
const REFUSAL_TAG = {
  file: 'cronium-integrity',
  runtime: 'cronium-integrity-runtime',
  sha: 'cronium-integrity-sha',
  node: 'cronium-integrity-node',
} as const;
export type RefusedPart = keyof typeof REFUSAL_TAG;

/** What a refusing guard printed: the part it refused and what it saw there ('' for no file / no node). */
export function parseRefusal(stderr: string | undefined): { part: RefusedPart; seen: string } | null {
  const m = /^cronium-integrity(?:-(runtime|sha|node))?=(.*)$/m.exec(stderr ?? '');
  if (!m) return null;
  return { part: (m[1] as RefusedPart | undefined) ?? 'file', seen: m[2]!.trim() };
}

function describeNodeRefusal(seen: string): string {
  if (!seen) return 'is gone from its PATH';
  if (seen.startsWith(REPLACEABLE)) return `(${seen.slice(REPLACEABLE.length)}) could be replaced by another user: it or a folder above it is not owned by root or this user, or is group- or other-writable`;
  return `is ${seen}, older than ${RUNNER_MIN_NODE_MAJOR}`;
}

/** What a refused guard saw of the runner file ('' when the file is gone), from the exec's stderr. */
export function seenFingerprint(stderr: string | undefined): string {
  const refusal = parseRefusal(stderr);
  return refusal?.part === 'file' ? refusal.seen : '';
}

/** The error an exec throws when its guard refused: the caller settles it with RunnerService.settleIntegrity. */
export function integrityMismatch(serverName: string, runner: GuardedRunner, stderr: string | undefined): AppError {
  const refusal = parseRefusal(stderr) ?? { part: 'file' as const, seen: '' };
  const { seen } = refusal;
  if (refusal.part === 'node') {
    return new AppError(
      'RUNNER_INTEGRITY_MISMATCH',
      `the node the runner ${runner.path} on ${serverName} runs under ${describeNodeRefusal(seen)}; nothing was run. ` +
        `Deploy the runner again (it then brings its own runtime) or install Node ${RUNNER_MIN_NODE_MAJOR}+ where only root can change it`,
      { details: { path: runner.path, seen, part: 'node' } },
    );
  }
  if (runner.runtime && refusal.part === 'runtime') {
    return new AppError(
      'RUNNER_INTEGRITY_MISMATCH',
      `the runner runtime ${runner.runtime.path} on ${serverName} is not the one Cronium deployed (recorded ${describeFingerprint(runner.runtime.fingerprint)}, found ${seen ? describeFingerprint(seen) : 'no file'}); nothing was run`,
      { details: { path: runner.runtime.path, recorded: runner.runtime.fingerprint, seen, part: 'runtime' } },
    );
  }
  if (runner.sha256 && refusal.part === 'sha') {
    return new AppError(
      'RUNNER_INTEGRITY_MISMATCH',
      `the runner code bundle ${runner.path} on ${serverName} is not the one Cronium deployed (signed sha256 ${runner.sha256.slice(0, 12)}…, found ${seen ? `${seen.slice(0, 12)}…` : 'no file'}); it was not run`,
      { details: { path: runner.path, recorded: runner.sha256, seen, part: 'bundle' } },
    );
  }
  const file = refusal.part === 'file' ? seen : '';
  return new AppError(
    'RUNNER_INTEGRITY_MISMATCH',
    `the runner file ${runner.path} on ${serverName} is not the one Cronium deployed (recorded ${describeFingerprint(runner.fingerprint)}, found ${file ? describeFingerprint(file) : 'no file'}); it was not run`,
    { details: { path: runner.path, recorded: runner.fingerprint, seen: file } },
  );
}

/**
 * The full check, one exec: for each file (a block starting `file=<index>`) its kind, fingerprint, sha256 and
 * fingerprint again (a file changing while it is hashed is not taken as stable); the server's node when asked.
 */
export function fullCheckScript(paths: string[], opts: { node?: boolean } = {}): string {
  return [
    FINGERPRINT_FUNCTION,
    SHA_FUNCTION,
    ...(opts.node ? [`${SERVER_NODE_FUNCTION}echo "node=$(cronium_node_ok && node -v 2>/dev/null)"`] : []),
    'check() {',
    '  f="$1"',
    '  if [ ! -f "$f" ] || [ -L "$f" ]; then echo "kind=$( [ -L "$f" ] && echo symlink || echo missing )"; return 0; fi',
    '  echo "kind=file"',
    '  echo "before=$(fp "$f")"',
    '  echo "sha=$(sha "$f")"',
    '  echo "after=$(fp "$f")"',
    '}',
    ...paths.map((p, i) => `echo "file=${i}"; check ${shellQuote(p)}`),
  ].join('\n');
}

/** What the full check found: each file's block, in order, and the server's node (null: none; undefined: not asked). */
export interface FullCheck {
  files: FileCheck[];
  node: string | null | undefined;
}

/** fullCheckScript's output, parsed. */
export function parseFullCheck(stdout: string): FullCheck {
  const node = /^node=(.*)$/m.exec(stdout);
  const blocks = stdout.split(/^file=\d+$/m).slice(1);
  return { files: blocks.map(parseFileCheck), node: node ? node[1]!.trim() || null : undefined };
}

/** One file's part of the full check (parseFileCheck). */
export interface FileCheck {
  kind: 'file' | 'symlink' | 'missing';
  sha256: string | null;
  /** The fingerprint, when it did not change while hashing. */
  fingerprint: RunnerFingerprint | null;
}

export function parseFileCheck(stdout: string): FileCheck {
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
  const kind = get('kind');
  if (kind !== 'file') return { kind: kind === 'symlink' ? 'symlink' : 'missing', sha256: null, fingerprint: null };
  const sha = get('sha');
  const before = get('before');
  return { kind: 'file', sha256: /^[0-9a-f]{64}$/.test(sha) ? sha : null, fingerprint: before && before === get('after') ? before : null };
}

/** "83.5 MB, inode 1234, changed 2026-12-06T00:15:14Z" for messages. */
export function describeFingerprint(fp: RunnerFingerprint | null): string {
  if (!fp) return 'nothing';
  const [size, inode, , , ctime] = fp.split(':');
  const seconds = Number(ctime);
  const when = Number.isFinite(seconds) ? new Date(Math.floor(seconds * 1000)).toISOString().replace(/\.\d+Z$/, 'Z') : ctime;
  return `${size} bytes, inode ${inode}, changed ${when}`;
}
