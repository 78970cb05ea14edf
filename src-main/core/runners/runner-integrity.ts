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
 */
import { AppError } from '../errors';
import { shellQuote } from '../ssh/shell-quote';

/** The exit status of a guard that refused to run the runner (chosen outside the runner's own exit codes). */
export const INTEGRITY_EXIT_CODE = 97;
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
  'if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d " " -f 1;',
  'elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d " " -f 1;',
  'elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 "$1" | sed "s/^.*= *//";',
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
export function integrityGuard(runner: GuardedRunner): string {
  if (runner.runtime) {
    // Fail closed: a runtime recorded without its fingerprint, or a bundle without its signed sha256, is refused
    // (RunnerService settles it with a full hash) rather than run with a part unchecked.
    const { sha256 } = runner;
    const { path: runtimePath, fingerprint: runtimeFp } = runner.runtime;
    if (!sha256 || !runtimeFp) {
      return `echo "cronium-integrity-runtime=unrecorded" >&2; exit ${INTEGRITY_EXIT_CODE}; `;
    }
    // Runtime: its fingerprint (stat). Code bundle: its full sha256 (a few ms for < 1 MB), not its fingerprint.
    const runtimeCheck = fingerprintCheck(runtimePath, runtimeFp, 'cronium-integrity-runtime');
    return (
      runtimeCheck +
      SHA_ONE_LINE +
      `cronium_s=$( [ -f ${shellQuote(runner.path)} ] && [ ! -L ${shellQuote(runner.path)} ] && cronium_sha ${shellQuote(runner.path)} ); ` +
      `if [ "$cronium_s" != ${shellQuote(sha256)} ]; then echo "cronium-integrity-sha=$cronium_s" >&2; exit ${INTEGRITY_EXIT_CODE}; fi; `
    );
  }
  if (!runner.fingerprint) return '';
  return fingerprintCheck(runner.path, runner.fingerprint, 'cronium-integrity');
}

/** What a refused guard saw ('' when the file is gone), from the exec's stderr. */
export function seenFingerprint(stderr: string | undefined): string {
  return /cronium-integrity=(.*)/.exec(stderr ?? '')?.[1]?.trim() ?? '';
}

/** The error an exec throws when its guard refused: the caller settles it with RunnerService.settleIntegrity. */
export function integrityMismatch(serverName: string, runner: GuardedRunner, stderr: string | undefined): AppError {
  const seenRuntime = /cronium-integrity-runtime=(.*)/.exec(stderr ?? '')?.[1]?.trim();
  if (runner.runtime && seenRuntime !== undefined) {
    return new AppError(
      'RUNNER_INTEGRITY_MISMATCH',
      `the runner runtime ${runner.runtime.path} on ${serverName} is not the one Cronium deployed (recorded ${describeFingerprint(runner.runtime.fingerprint)}, found ${seenRuntime ? describeFingerprint(seenRuntime) : 'no file'}); nothing was run`,
      { details: { path: runner.runtime.path, recorded: runner.runtime.fingerprint, seen: seenRuntime, part: 'runtime' } },
    );
  }
  const seenSha = /cronium-integrity-sha=(.*)/.exec(stderr ?? '')?.[1]?.trim();
  if (runner.sha256 && seenSha !== undefined) {
    return new AppError(
      'RUNNER_INTEGRITY_MISMATCH',
      `the runner code bundle ${runner.path} on ${serverName} is not the one Cronium deployed (signed sha256 ${runner.sha256.slice(0, 12)}…, found ${seenSha ? `${seenSha.slice(0, 12)}…` : 'no file'}); it was not run`,
      { details: { path: runner.path, recorded: runner.sha256, seen: seenSha, part: 'bundle' } },
    );
  }
  const seen = seenFingerprint(stderr);
  return new AppError(
    'RUNNER_INTEGRITY_MISMATCH',
    `the runner file ${runner.path} on ${serverName} is not the one Cronium deployed (recorded ${describeFingerprint(runner.fingerprint)}, found ${seen ? describeFingerprint(seen) : 'no file'}); it was not run`,
    { details: { path: runner.path, recorded: runner.fingerprint, seen } },
  );
}

/** One exec: fingerprint, sha256, fingerprint again (a file changing while it is hashed is not taken as stable). */
export function fullCheckScript(path: string): string {
  return [
    FINGERPRINT_FUNCTION,
    SHA_FUNCTION,
    `f=${shellQuote(path)}`,
    'if [ ! -f "$f" ] || [ -L "$f" ]; then echo "kind=$( [ -L "$f" ] && echo symlink || echo missing )"; exit 0; fi',
    'echo "kind=file"',
    'echo "before=$(fp "$f")"',
    'echo "sha=$(sha "$f")"',
    'echo "after=$(fp "$f")"',
  ].join('\n');
}

export interface FullCheck {
  kind: 'file' | 'symlink' | 'missing';
  sha256: string | null;
  /** The fingerprint, when it did not change while hashing. */
  fingerprint: RunnerFingerprint | null;
}

export function parseFullCheck(stdout: string): FullCheck {
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
