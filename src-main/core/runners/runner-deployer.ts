/**
 * RunnerDeployer: puts a verified runner on a server and proves it runs. Probe (one exec, which also clears stale
 * uploads), pick the artifact (the js code bundle under the server's Node >= 18; without a usable Node the bundle plus
 * the shared runtime, ~/.cronium/runtimes/<node>-<os>-<arch>/node; the SEA only when no runtime fits), check free disk
 * before sending a byte, then one exec receives the code bundle on stdin (a runtime or a SEA is uploaded over SFTP
 * first), unpacks it under a temporary name, verifies the sha256, moves the file into place atomically and runs
 * `version` as the handshake (a file the probe saw with its signed sha256 is not sent again). A js bundle under the
 * server's own node is started for `version` once per bundle sha256 and node (real path, `node -v`, platform): later
 * servers with that same node get those same verified bytes, so their answer is the one already checked (a Node
 * start with the bundle is ~0.3 CPU-s on the server). A SEA or a deployed runtime, whose binary must prove it loads
 * there, is always started. It talks to servers only through the SSH pool, keeps no state but those handshakes
 * (memory only) and writes no database row (RunnerService records outcomes). It must never upload a file the
 * ArtifactStore did not verify just now, and never leave a half-written runner under its final name.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  RunnerHealthReport,
  RunnerVersionInfo,
  type RunnerKind,
} from '../../../src-shared/protocol/runner-info';
import { AppError, isAppError, type ErrorCode } from '../errors';
import { systemClock, type Clock } from '../clock';
import { retryWithBackoff } from '../backoff';
import type { SshPool } from '../ssh/ssh-pool';
import type { ExecResult } from '../ssh/types';
import { shellQuote } from '../ssh/shell-quote';
import { RESIDENT_REMOVAL_SHELL } from '../../../src-shared/protocol/resident';
import { JOB_HOST_FOLDER } from '../../../src-shared/protocol/job-host';
import { platformOfUname, type ArtifactRecord, type ArtifactStore, type OpenableArtifact } from './artifact-store';
import { hasUsableNode } from './runner-version';
import {
  SERVER_NODE_FUNCTION,
  FINGERPRINT_FUNCTION,
  INTEGRITY_EXIT_CODE,
  SHA_FUNCTION,
  fullCheckScript,
  integrityGuard,
  integrityMismatch,
  parseFullCheck,
  seenFingerprint,
  type FullCheck,
  type GuardedRunner,
  type RunnerFingerprint,
} from './runner-integrity';

/** The runners' folder under the login user's home; the runner's own paths.ts spells the same layout. */
export const REMOTE_RUNNERS_DIR = '.cronium/runners';
/** The runtimes' folder (the Node binary a code bundle runs under on a server without Node), shared by all versions. */
export const REMOTE_RUNTIMES_DIR = '.cronium/runtimes';

/** <node version>-<os>-<arch>: a runtime's folder under REMOTE_RUNTIMES_DIR. */
export function runtimeDirName(r: { version: string; os: string; arch: string }): string {
  return `${r.version}-${r.os}-${r.arch}`;
}

/** Headroom kept free beyond the artifact itself (the unpacked file and the .gz coexist while unpacking). */
const DISK_MARGIN_BYTES = 4 * 1024 * 1024;
/** The largest gzip sent in the verify exec's stdin (the code bundle, ~180 KB); a bigger one goes over SFTP. */
const STDIN_UPLOAD_MAX_BYTES = 4 * 1024 * 1024;
/** Waits before the 2nd and 3rd try of a deploy step that failed on a transient SSH error. */
const DEPLOY_STEP_BACKOFF = { kind: 'list', delaysMs: [250, 1000] } as const;
const TRANSIENT_SSH_CODES = new Set<ErrorCode>(['CONNECTION_LOST', 'CONNECT_TIMEOUT', 'CHANNEL_REFUSED', 'HOST_UNREACHABLE', 'SSH_PROTOCOL_ERROR']);
const KNOWN_ARCHES = new Set(['x64', 'arm64']);
/** Handshakes remembered: nodes (path, version, platform), and bundles per node; the oldest goes first beyond these. */
const PROVEN_NODES_MAX = 32;
const PROVEN_BUNDLES_MAX = 8;

export type DeployStep = 'probe' | 'pick' | 'verify-local' | 'disk' | 'upload' | 'verify' | 'handshake' | 'health' | 'activate' | 'remove';

export interface ServerProbe {
  home: string;
  os: string;
  arch: string;
  unameS: string;
  unameM: string;
  nodeVersion: string | null;
  /** Where the server's node really is (symlinks resolved); null without a usable node. */
  nodePath: string | null;
  /** Free bytes on the file system holding ~/.cronium/runners; null when df said nothing readable. */
  freeBytes: number | null;
  mount: string | null;
  /** The first of sha256sum, shasum, openssl found; null when none is installed. */
  shaTool: 'sha256sum' | 'shasum' | 'openssl' | null;
  hasGzip: boolean;
  /** Whether a file written in ~/.cronium/runners can be executed (false on a noexec mount). */
  canExec: boolean;
  /** Runner files already there: absolute path -> sha256. */
  runners: Map<string, string>;
  /** Runner files already there: absolute path -> fingerprint (runner-integrity.ts). */
  fingerprints: Map<string, RunnerFingerprint>;
}

export interface InstallRequest {
  serverId: string;
  serverName: string;
  /** Exactly this version; otherwise the newest that meets minVersion / capabilities. */
  version?: string;
  minVersion?: string;
  capabilities?: string[];
  signal: AbortSignal;
  /** Epoch ms by which the whole deployment must be done. */
  deadline: number;
  onProgress(step: DeployStep, message: string): void;
  /** Runner files recorded at earlier deploys (path -> fingerprint, sha256): an unchanged one is not hashed again. */
  known?: ReadonlyMap<string, { fingerprint: RunnerFingerprint; sha256: string }>;
}

export interface InstallResult {
  artifact: ArtifactRecord;
  probe: ServerProbe;
  path: string;
  info: RunnerVersionInfo;
  transferredBytes: number;
  /** What was on the server under the final name before: nothing, the same verified file, or a different one. */
  previousFile: 'none' | 'verified' | 'mismatch';
  /** The installed file's fingerprint (runner-integrity.ts), checked before every later use; null if stat failed. */
  fingerprint: RunnerFingerprint | null;
  /** The runtime the js bundle runs under (a server without Node), null when it runs under the server's node or is a SEA. */
  runtime: { path: string; sha256: string; fingerprint: RunnerFingerprint | null; nodeVersion: string; transferredBytes: number } | null;
  durations: Record<string, number>;
}

export interface RunnerDeployerDeps {
  ssh: Pick<SshPool, 'exec' | 'acquire'>;
  artifacts: Pick<ArtifactStore, 'pick' | 'open' | 'pickRuntime'>;
  /** Deadlines and retry waits (the system clock when absent). */
  clock?: Clock;
}

/** Name prefix of an upload in progress in ~/.cronium/runners/<version>/ or ~/.cronium/runtimes/<id>/ (renamed once verified). */
export const TEMP_PREFIX = '.cronium-runner.';

export function runnerFileName(kind: RunnerKind): string {
  return kind === 'js' ? 'cronium-runner.cjs' : 'cronium-runner';
}

/**
 * The shell words that start the runner at `path`: a SEA itself; the JS bundle under the deployed runtime when it has
 * one (`runtimePath`), else under the server's node. Always through `env -u NODE_OPTIONS`: options from the login
 * environment (`--inspect`, `--require`) must not reach the runner's Node (docs/security.md); the words still work
 * after `setsid nohup`.
 */
export function runnerCommand(kind: RunnerKind, path: string, runtimePath?: string | null): string {
  const start = kind === 'js' ? `${runtimePath ? shellQuote(runtimePath) : 'node'} ${shellQuote(path)}` : shellQuote(path);
  return `${CLEAR_NODE_OPTIONS} ${start}`;
}

/** The prefix of every runner start (runnerCommand). */
export const CLEAR_NODE_OPTIONS = 'env -u NODE_OPTIONS';

/**
 * Everything the deployer needs to know about a server, in one exec. Runner files whose fingerprint is one recorded
 * at an earlier deploy (`known`: path -> fingerprint and sha256) are not hashed again: that is the cheap check an
 * up-to-date server costs. Any other runner file is hashed.
 */
export function probeScript(known: ReadonlyMap<string, { fingerprint: RunnerFingerprint; sha256: string }> = new Map(), opts: { clearStaleUploads?: boolean } = {}): string {
  const knownCases = [...known].map(([path, k]) => `    ${shellQuote(`${path}|${k.fingerprint}`)}) s=${shellQuote(k.sha256)} ;;`);
  const stale = `"$r"/*/${TEMP_PREFIX}* "$HOME/${REMOTE_RUNTIMES_DIR}"/*/${TEMP_PREFIX}*`;
  // Each program started costs the server a fork and an exec (the probe runs on many servers at once, sharing their
  // CPU with sshd): shell builtins where they do the job, and a program only when there is something for it to do.
  return [
    '# cronium-probe',
    SHA_FUNCTION,
    FINGERPRINT_FUNCTION,
    'umask 077',
    `r="$HOME/${REMOTE_RUNNERS_DIR}"`,
    "nl='\n'",
    'echo "home=$HOME"',
    'set -- $(uname -s -m 2>/dev/null)',
    'echo "uname_s=$1"; echo "uname_m=$2"',
    // ~/.cronium is 0700 (umask when new, chmod when it was there before).
    'if [ -d "$HOME/.cronium" ]; then chmod 700 "$HOME/.cronium" 2>/dev/null; fi',
    '[ -d "$r" ] || mkdir -p "$r" 2>/dev/null',
    // A cancelled or failed upload (or an app that stopped mid-upload) leaves its temp file behind. Only install()
    // asks for this: deploys to one server are serialised (RunnerService), so every temp file then is stale.
    ...(opts.clearStaleUploads ? [`set -- ${stale}`, 'for x; do if [ -e "$x" ] || [ -L "$x" ]; then rm -f "$@" 2>/dev/null; break; fi; done'] : []),
    // df's last line (the file system's), between markers: no `tail` process.
    'echo df-begin; df -Pk "$r" 2>/dev/null; echo df-end',
    // Only a node no other user can replace counts (SERVER_NODE_FUNCTION); otherwise the runner brings its runtime.
    // The node's real path too (no process: cronium_node_ok resolved it), unless it has a line break (forged lines).
    `${SERVER_NODE_FUNCTION}if cronium_node_ok; then echo "node=$(node -v 2>/dev/null)"; case "$cronium_nr" in *"$nl"*) ;; *) echo "nodebin=$cronium_nr" ;; esac; fi`,
    'for t in sha256sum shasum openssl gzip; do if command -v "$t" >/dev/null 2>&1; then echo "tool=$t"; fi; done',
    `for f in "$r"/*/cronium-runner "$r"/*/cronium-runner.cjs "$HOME/${REMOTE_RUNTIMES_DIR}"/*/node; do`,
    // A path with a line break could forge probe lines (runner=..., runnerfp=...): such a file is never reported.
    '  case "$f" in *"$nl"*) continue ;; esac',
    '  if [ -f "$f" ] && [ ! -L "$f" ]; then',
    '    c=$(fp "$f"); s=""',
    ...(knownCases.length ? ['  case "$f|$c" in', ...knownCases, '  esac'] : []),
    '    [ -n "$s" ] || s=$(sha "$f")',
    '    echo "runner=$s $f"; echo "runnerfp=$c $f"',
    '  fi',
    'done',
    // Whether a file written there can be executed (not a noexec mount): a throwaway script that prints its own line.
    'p="$r/.exec-probe.$$"',
    `if printf '#!/bin/sh\\necho exec=cronium-exec-ok\\n' > "$p" 2>/dev/null && chmod 700 "$p"; then "$p" 2>/dev/null || echo "exec=failed"; else echo "exec=write-failed"; fi`,
    'rm -f "$p"',
    'exit 0',
  ].join('\n');
}
export const PROBE_SCRIPT = probeScript();

export function parseProbe(stdout: string): ServerProbe {
  const values = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const list = values.get(key) ?? [];
    list.push(line.slice(eq + 1).trim());
    values.set(key, list);
  }
  const one = (k: string) => values.get(k)?.[0] ?? '';
  // df's lines between its markers: the last one is the file system's.
  const lines = stdout.split('\n');
  const dfLines = lines.slice(lines.indexOf('df-begin') + 1, Math.max(0, lines.indexOf('df-end'))).filter((l) => l.trim());
  const dfLine = dfLines.at(-1) ?? '';
  const tools = new Set(values.get('tool') ?? []);
  const dfFields = dfLine.trim().split(/\s+/);
  const availKb = Number(dfFields[3]);
  const runners = new Map<string, string>();
  for (const entry of values.get('runner') ?? []) {
    const space = entry.indexOf(' ');
    const sha = entry.slice(0, space);
    if (space > 0 && /^[0-9a-f]{64}$/.test(sha)) runners.set(entry.slice(space + 1), sha);
  }
  const fingerprints = new Map<string, RunnerFingerprint>();
  for (const entry of values.get('runnerfp') ?? []) {
    const space = entry.indexOf(' ');
    if (space > 0) fingerprints.set(entry.slice(space + 1), entry.slice(0, space));
  }
  const { os, arch } = platformOfUname(one('uname_s'), one('uname_m'));
  return {
    home: one('home'),
    os,
    arch,
    unameS: one('uname_s'),
    unameM: one('uname_m'),
    nodeVersion: one('node') || null,
    nodePath: (one('node') && one('nodebin')) || null,
    freeBytes: dfFields.length >= 4 && Number.isFinite(availKb) ? availKb * 1024 : null,
    mount: dfFields.length >= 6 ? dfFields.slice(5).join(' ') : null,
    shaTool: tools.has('sha256sum') ? 'sha256sum' : tools.has('shasum') ? 'shasum' : tools.has('openssl') ? 'openssl' : null,
    hasGzip: tools.has('gzip'),
    canExec: one('exec') === 'cronium-exec-ok',
    runners,
    fingerprints,
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function deployError(code: ErrorCode, step: DeployStep, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError(code, message, { details: { step, ...details } });
}

export function stepOf(err: unknown): string | null {
  return isAppError(err) && typeof err.extra.details?.step === 'string' ? err.extra.details.step : null;
}

export class RunnerDeployer {
  /**
   * What `version` said for js bundles under a server's node: by the node (real path, `node -v`, `uname -s -m`), then
   * by the bundle's sha256. A failed handshake under a node forgets all of that node's (the next deploy proves again).
   */
  private readonly proven = new Map<string, Map<string, RunnerVersionInfo>>();

  constructor(private readonly deps: RunnerDeployerDeps) {}

  async probe(serverId: string, serverName: string, signal: AbortSignal, deadline: number, known?: InstallRequest['known'], opts: { clearStaleUploads?: boolean } = {}): Promise<ServerProbe> {
    const script = known?.size || opts.clearStaleUploads ? probeScript(known, opts) : PROBE_SCRIPT;
    const result = await this.exec(serverId, serverName, script, 'probe', signal, deadline);
    const probe = parseProbe(result.stdout ?? '');
    if (!probe.home || !probe.unameS) {
      throw deployError('RUNNER_PROBE_FAILED', 'probe', `The probe of ${serverName} printed nothing usable (exit ${result.code}): ${(result.stderr ?? '').trim().slice(0, 300) || 'no output'}. The login shell must be a POSIX shell.`);
    }
    return probe;
  }

  /** Probe, pick, verify locally, upload unless already there, verify on the server, activate the file, handshake. */
  async install(req: InstallRequest): Promise<InstallResult> {
    const durations: Record<string, number> = {};
    const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        durations[name] = Math.round(performance.now() - started);
      }
    };
    const { serverId, serverName: name } = req;

    req.onProgress('probe', `Probing ${name}`);
    const probe = await timed('probe', () => this.probe(serverId, name, req.signal, req.deadline, req.known, { clearStaleUploads: true }));

    if ((!KNOWN_ARCHES.has(probe.arch) || (probe.os !== 'linux' && probe.os !== 'darwin')) && !probe.nodeVersion) {
      throw deployError('RUNNER_UNSUPPORTED_PLATFORM', 'pick', `${name} runs ${probe.unameS} on ${probe.unameM}, which no runner is built for, and has no Node >= 18 for the JS runner. Install Node 18+ on it or use direct-ssh for this server.`, { os: probe.os, arch: probe.arch });
    }
    if (!probe.shaTool) {
      throw deployError('RUNNER_NO_SHA256_TOOL', 'probe', `${name} has none of sha256sum, shasum or openssl, so an uploaded runner cannot be verified there. Install coreutils (sha256sum) or openssl on it, or use direct-ssh.`);
    }
    if (!probe.canExec) {
      throw deployError('RUNNER_NOEXEC_HOME', 'probe', `${name} cannot execute files in ${probe.home}/${REMOTE_RUNNERS_DIR} (the home folder is mounted noexec, or not writable). Remount it without noexec, or use direct-ssh for this server.`, { home: probe.home });
    }

    req.onProgress('pick', `Choosing the runner for ${probe.os}-${probe.arch}`);
    // A server without a usable Node runs the js bundle under a deployed runtime when one exists for it (Linux).
    const runtimeOffer = probe.os === 'linux' && !hasUsableNode(probe.nodeVersion) ? this.deps.artifacts.pickRuntime(probe.os, probe.arch) : null;
    let artifact: ArtifactRecord;
    try {
      artifact = await this.deps.artifacts.pick({
        os: probe.os,
        arch: probe.arch,
        nodeVersion: probe.nodeVersion,
        runtimeAvailable: runtimeOffer !== null,
        ...(req.version ? { version: req.version } : {}),
        ...(req.minVersion ? { minVersion: req.minVersion } : {}),
        ...(req.capabilities?.length ? { capabilities: req.capabilities } : {}),
      });
    } catch (err) {
      if (isAppError(err) && !KNOWN_ARCHES.has(probe.arch)) {
        throw deployError('RUNNER_UNSUPPORTED_PLATFORM', 'pick', `${name} runs ${probe.unameS} on ${probe.unameM}: no runner is built for it. ${err.message}`, { os: probe.os, arch: probe.arch });
      }
      throw withStep(err, 'pick');
    }

    // pick() chose js for a server without Node only because runtimeOffer exists; a SEA or a server node needs none.
    const runtime = artifact.kind === 'js' ? runtimeOffer : null;
    const dir = `${probe.home}/${REMOTE_RUNNERS_DIR}/${artifact.version}`;
    const finalPath = `${dir}/${runnerFileName(artifact.kind)}`;
    let transferredBytes = 0;
    let runtimeResult: InstallResult['runtime'] = null;
    if (runtime) {
      // The runtime first, shared by every runner version: a server that has it verified gets nothing here.
      const runtimeDir = `${probe.home}/${REMOTE_RUNTIMES_DIR}/${runtimeDirName(runtime)}`;
      const runtimePath = `${runtimeDir}/node`;
      const put = await this.put(req, probe, runtime, runtimeDir, runtimePath, `the runtime (node ${runtime.version} ${runtime.os}-${runtime.arch})`, timed, 'Runtime');
      transferredBytes += put.transferredBytes;
      runtimeResult = { path: runtimePath, sha256: runtime.sha256, fingerprint: put.fingerprint, nodeVersion: runtime.version, transferredBytes: put.transferredBytes };
    }
    // The same verified bytes under the same node on the same platform: their `version` was already checked.
    const nodeKey = artifact.kind === 'js' && !runtimeResult && probe.nodeVersion && probe.nodePath ? `${probe.nodePath} ${probe.nodeVersion} ${probe.unameS} ${probe.unameM}` : null;
    const proven = nodeKey ? this.proven.get(nodeKey)?.get(artifact.sha256) : undefined;
    // An uploaded runner runs `version` in the exec that verified and moved it (one round trip less per server).
    const versionCommand = proven ? undefined : `${runnerCommand(artifact.kind, finalPath, runtimeResult?.path)} version`;
    const put = await this.put(req, probe, artifact, dir, finalPath, `runner ${artifact.version} (${artifact.kind === 'js' ? 'code bundle' : 'single executable'})`, timed, '', versionCommand);
    transferredBytes += put.transferredBytes;
    const { previousFile, fingerprint } = put;

    let info: RunnerVersionInfo;
    if (proven) {
      req.onProgress('handshake', `${artifact.version} already passed its handshake under node ${probe.nodeVersion} on ${probe.unameS} ${probe.unameM}, and ${name} has exactly its bytes (sha256 checked there)`);
      // What those bytes said, checked against what this artifact promises (the same bytes may be signed as another version).
      info = checkVersionInfo(name, artifact, proven);
    } else {
      req.onProgress('handshake', `Running ${artifact.version} version on ${name}`);
      try {
        info = put.handshake
          ? checkHandshake(name, artifact, put.handshake)
          : await timed('handshake', () => this.handshake(serverId, name, artifact, finalPath, req.signal, req.deadline, runtimeResult?.path));
      } catch (err) {
        if (nodeKey) this.proven.delete(nodeKey);
        throw err;
      }
      if (nodeKey) this.remember(nodeKey, artifact.sha256, info);
    }
    return { artifact, probe, path: finalPath, info, transferredBytes, previousFile, fingerprint, runtime: runtimeResult, durations };
  }

  private remember(nodeKey: string, sha256: string, info: RunnerVersionInfo): void {
    let bundles = this.proven.get(nodeKey);
    if (!bundles) {
      if (this.proven.size >= PROVEN_NODES_MAX) this.proven.delete(this.proven.keys().next().value!);
      bundles = new Map();
      this.proven.set(nodeKey, bundles);
    }
    if (bundles.size >= PROVEN_BUNDLES_MAX) bundles.delete(bundles.keys().next().value!);
    bundles.set(sha256, info);
  }

  /**
   * Puts one verified artifact (a runner or a runtime) at finalPath unless the probe saw it there with the signed
   * sha256: check free disk, upload under a temporary name, unpack and verify sha256 on the server, move into place.
   */
  private async put(
    req: InstallRequest,
    probe: ServerProbe,
    artifact: OpenableArtifact & { size: number; compressedSize: number },
    dir: string,
    finalPath: string,
    label: string,
    timed: <T>(name: string, work: () => Promise<T>) => Promise<T>,
    stepPrefix: string,
    /** Shell run after the file is in place, in the same exec; its output and status come back as `handshake`. */
    thenRun?: string,
  ): Promise<{ transferredBytes: number; previousFile: InstallResult['previousFile']; fingerprint: RunnerFingerprint | null; handshake?: Pick<ExecResult, 'code' | 'stdout' | 'stderr'> }> {
    const { serverId, serverName: name } = req;
    const existingSha = probe.runners.get(finalPath);
    const previousFile: InstallResult['previousFile'] = existingSha === undefined ? 'none' : existingSha === artifact.sha256 ? 'verified' : 'mismatch';
    let transferredBytes = 0;
    let fingerprint: RunnerFingerprint | null = probe.fingerprints.get(finalPath) ?? null;
    let handshake: Pick<ExecResult, 'code' | 'stdout' | 'stderr'> | undefined;
    const key = (k: string) => (stepPrefix ? `${stepPrefix.toLowerCase()}${k[0].toUpperCase()}${k.slice(1)}` : k);
    if (previousFile === 'verified') {
      req.onProgress('verify', `${name} already has ${label} with the signed checksum; nothing to upload`);
      return { transferredBytes, previousFile, fingerprint };
    }
    req.onProgress('verify-local', `Verifying ${label} on this workstation`);
    // Throws ARTIFACT_TAMPERED for a local file whose checksum or signature is wrong: nothing is uploaded.
    const sendCompressed = probe.hasGzip;
    // A small gzip (the code bundle) travels in the verify exec's stdin: no SFTP session (a process on the server)
    // and one round trip less. A bigger one (a runtime, a SEA) goes over SFTP first.
    const inStdin = sendCompressed && artifact.compressedSize <= STDIN_UPLOAD_MAX_BYTES;
    const opened = await timed(key('verifyLocal'), async () => {
      try {
        // Only the file that is sent is hashed here (the server hashes what it unpacks against the signed sha256).
        return inStdin ? await this.deps.artifacts.open(artifact, { unpacked: false, compressedBytes: true }) : await this.deps.artifacts.open(artifact, { unpacked: !sendCompressed });
      } catch (err) {
        throw withStep(err, 'verify-local');
      }
    });
    const sendBytes = sendCompressed ? artifact.compressedSize : artifact.size;
    const needed = sendBytes + artifact.size + DISK_MARGIN_BYTES;
    if (probe.freeBytes !== null && probe.freeBytes < needed) {
      throw deployError(
        'RUNNER_DISK_FULL',
        'disk',
        `No space left on ${name} for ${label}: it needs ${mb(needed)} in ${dir}, but ${probe.mount ?? 'that file system'} has ${mb(probe.freeBytes)} free. ` +
          'Free some disk space on the server (or grow the file system) and deploy again.',
        { neededBytes: needed, freeBytes: probe.freeBytes },
      );
    }
    if (previousFile === 'mismatch') {
      req.onProgress('verify', `The file at ${finalPath} is not ${label} with the signed checksum; replacing it`);
    }

    const tmpName = `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`;
    const uploadPath = `${dir}/${tmpName}${sendCompressed ? '.gz' : ''}`;
    // Stale temp files of earlier uploads were removed by the probe (clearStaleUploads).
    req.onProgress('upload', `Uploading ${label} (${mb(sendBytes)}) to ${name}`);
    if (!inStdin) {
      await timed(key('upload'), () =>
        this.retry('upload', req, async () => {
          const connection = await this.deps.ssh.acquire(serverId);
          await connection.mkdirp(dir, 0o700);
          await abortable(connection.uploadFile(sendCompressed ? opened.compressedPath : opened.path!, uploadPath, 0o600), req.signal, () => this.timeout(name, 'upload'));
        }),
      );
    }
    transferredBytes = sendBytes;

    req.onProgress('verify', `Verifying the sha256 of ${label} on ${name}`);
    await timed(key('verify'), async () => {
      const script = [
        '# cronium-verify',
        SHA_FUNCTION,
        FINGERPRINT_FUNCTION,
        `d=${shellQuote(dir)}; t=${shellQuote(tmpName)}`,
        'cleanup() { rm -f "$d/$t" "$d/$t.gz"; }',
        // From stdin: the folder may be new (0700, like the SFTP upload's), and the file is 0600 until it is verified.
        inStdin
          ? 'umask 077; [ -d "$d" ] || mkdir -p "$d" || exit 14; if ! gunzip -c > "$d/$t"; then cleanup; exit 11; fi'
          : sendCompressed
            ? 'if ! gunzip -c "$d/$t.gz" > "$d/$t"; then cleanup; exit 11; fi; rm -f "$d/$t.gz"'
            : ':',
        's=$(sha "$d/$t")',
        'echo "sha=$s"',
        `if [ "$s" != ${shellQuote(artifact.sha256)} ]; then cleanup; exit 12; fi`,
        `chmod 755 "$d/$t" && mv -f "$d/$t" ${shellQuote(finalPath)} || { cleanup; exit 13; }`,
        `echo "fp=$(fp ${shellQuote(finalPath)})"`,
        ...(thenRun ? [`echo ${HANDSHAKE_MARK}`, thenRun, `c=$?; echo; echo "${HANDSHAKE_EXIT}=$c"`] : []),
      ].join('\n');
      const r = await this.exec(serverId, name, script, 'verify', req.signal, req.deadline, inStdin ? opened.compressedBytes : undefined);
      const said = (r.stderr ?? '').trim().slice(0, 300);
      if (r.code === 11) {
        if (/no space/i.test(said)) {
          throw deployError('RUNNER_DISK_FULL', 'verify', `No space left on ${name} while unpacking ${label} in ${dir} (${said}). Free some disk space on the server and deploy again.`);
        }
        throw deployError('RUNNER_VERIFY_FAILED', 'verify', `Unpacking ${label} on ${name} failed: ${said || `exit ${r.code}`}. Check the disk and permissions of ${dir}.`);
      }
      if (r.code === 14) {
        throw deployError('RUNNER_VERIFY_FAILED', 'verify', `Creating ${dir} on ${name} failed: ${said || 'no message'}. Check that your home folder on the server is writable.`);
      }
      if (r.code === 12) {
        const got = /sha=(\S*)/.exec(r.stdout ?? '')?.[1] ?? '';
        throw deployError('RUNNER_VERIFY_FAILED', 'verify', `${label[0].toUpperCase()}${label.slice(1)} uploaded to ${name} has sha256 ${got.slice(0, 12) || '(none)'}…, expected ${artifact.sha256.slice(0, 12)}…: the transfer was altered or cut short. It was deleted; deploy again.`, { expected: artifact.sha256, got });
      }
      fingerprint = /^fp=(\S+)$/m.exec(r.stdout ?? '')?.[1] ?? null;
      if (r.code !== 0) {
        throw deployError('RUNNER_VERIFY_FAILED', 'verify', `Moving ${label} into place on ${name} failed (exit ${r.code}): ${said || 'no message'}. Check permissions of ${dir}.`);
      }
      handshake = thenRun ? splitHandshake(r) : undefined;
    });
    return { transferredBytes, previousFile, fingerprint, ...(handshake ? { handshake } : {}) };
  }

  /** Runs `version` and checks the runner says what the artifact promised: version, os/arch, kind. */
  async handshake(
    serverId: string,
    name: string,
    expected: { version: string; kind: RunnerKind; os: string; arch: string },
    path: string,
    signal: AbortSignal,
    deadline: number,
    runtimePath?: string | null,
  ): Promise<RunnerVersionInfo> {
    const r = await this.exec(serverId, name, `${runnerCommand(expected.kind, path, runtimePath)} version`, 'handshake', signal, deadline);
    return checkHandshake(name, expected, r);
  }

  /**
   * `health --json` over the pooled connection, parsed. With a recorded fingerprint the integrity guard runs first in
   * the same exec: a runner file that is not the deployed one is not run (RUNNER_INTEGRITY_MISMATCH).
   */
  async health(serverId: string, name: string, kind: RunnerKind, runner: GuardedRunner, timeoutMs: number): Promise<RunnerHealthReport> {
    const guarded = runner.fingerprint || (runner.runtime && runner.sha256);
    // Health checks also check the version of the server's node a bundle runs under (uses check only that it is there).
    const r = await this.deps.ssh.exec(serverId, `${integrityGuard({ ...runner, kind }, { nodeVersion: true })}${runnerCommand(kind, runner.path, runner.runtime?.path)} health --json`, { timeoutMs });
    if (guarded && r.code === INTEGRITY_EXIT_CODE) throw integrityMismatch(name, runner, r.stderr);
    if (r.code !== 0) {
      const said = (r.stderr ?? '').trim().slice(0, 200);
      throw new AppError('RUNNER_HEALTH_FAILED', `\`health --json\` on ${name} exited ${r.code ?? r.signal}${said ? `: ${said}` : ''}. Redeploy the runner if it keeps failing.`);
    }
    try {
      return RunnerHealthReport.parse(JSON.parse((r.stdout ?? '').trim().split('\n').pop() ?? ''));
    } catch {
      throw new AppError('RUNNER_HEALTH_FAILED', `\`health --json\` on ${name} printed something that is not a health report: ${JSON.stringify((r.stdout ?? '').slice(0, 120))}.`);
    }
  }

  /**
   * The cheap check alone (one exec, no hash): whether the file still has the fingerprint recorded at deploy.
   * Returns what the server saw when it does not ('' for no file).
   */
  async checkFingerprint(serverId: string, name: string, runner: GuardedRunner, timeoutMs: number): Promise<{ ok: true } | { ok: false; seen: string }> {
    const r = await this.deps.ssh.exec(serverId, `${integrityGuard(runner)}echo cronium-integrity-ok`, { timeoutMs });
    if (r.code === INTEGRITY_EXIT_CODE) return { ok: false, seen: seenFingerprint(r.stderr) };
    if (r.code !== 0 || !(r.stdout ?? '').includes('cronium-integrity-ok')) {
      throw new AppError('RUNNER_HEALTH_FAILED', `checking the runner file on ${name} failed (exit ${r.code ?? r.signal}): ${(r.stderr ?? '').trim().slice(0, 200) || 'no message'}`);
    }
    return { ok: true };
  }

  /**
   * The full check (one exec for all `paths`): each file's kind, sha256 and a fingerprint that held still while it
   * was hashed; with `node`, the server's `node -v` too (null when it has none).
   */
  async fullCheck(serverId: string, name: string, paths: string[], timeoutMs: number, opts: { node?: boolean } = {}): Promise<FullCheck> {
    const r = await this.deps.ssh.exec(serverId, fullCheckScript(paths, opts), { timeoutMs });
    const out = r.code === 0 ? parseFullCheck(r.stdout ?? '') : null;
    if (!out || out.files.length !== paths.length) {
      throw new AppError('RUNNER_HEALTH_FAILED', `hashing the runner files on ${name} failed (exit ${r.code ?? r.signal}): ${(r.stderr ?? '').trim().slice(0, 200) || 'no message'}`);
    }
    return out;
  }

  /**
   * Deletes every runner version and runtime from the server, and the resident runner with it (its process, its systemd unit,
   * its schedules and the folders of its server-fired jobs: RESIDENT_REMOVAL_SHELL), and the job hosts' folder (their
   * sockets and key files). Other jobs and payloads stay.
   */
  async removeAll(serverId: string, name: string, signal: AbortSignal, deadline: number): Promise<void> {
    // The job hosts' folder goes too: a host whose socket is gone takes no new job and exits once its last one is done.
    const r = await this.exec(serverId, name, `${RESIDENT_REMOVAL_SHELL}; rm -rf "$HOME/${REMOTE_RUNNERS_DIR}" "$HOME/${REMOTE_RUNTIMES_DIR}" "$HOME/.cronium/${JOB_HOST_FOLDER}"`, 'remove', signal, deadline);
    if (r.code !== 0) {
      throw deployError('RUNNER_REMOVE_FAILED', 'remove', `Removing the runners from ${name} failed (exit ${r.code}): ${(r.stderr ?? '').trim().slice(0, 200)}. Check permissions of ~/${REMOTE_RUNNERS_DIR}.`);
    }
  }

  private async exec(serverId: string, name: string, command: string, step: DeployStep, signal: AbortSignal, deadline: number, stdin?: Buffer): Promise<ExecResult> {
    return this.retry(step, { serverName: name, signal, deadline }, async () => {
      const remaining = deadline - this.clock.now();
      if (remaining <= 0 || signal.aborted) throw this.timeout(name, step);
      try {
        return await this.deps.ssh.exec(serverId, command, { signal, timeoutMs: remaining, maxCollectBytes: 1024 * 1024, ...(stdin ? { stdin } : {}) });
      } catch (err) {
        if (signal.aborted || (isAppError(err) && err.code === 'EXEC_TIMEOUT')) throw this.timeout(name, step);
        throw err;
      }
    });
  }

  /** Retries transient SSH failures with backoff (250 ms, 1 s) inside the deadline; anything else fails at once. */
  private async retry<T>(step: DeployStep, req: { serverName: string; signal: AbortSignal; deadline: number }, work: () => Promise<T>): Promise<T> {
    try {
      return await retryWithBackoff(work, {
        clock: this.clock,
        policy: DEPLOY_STEP_BACKOFF,
        shouldRetry: (err) => isAppError(err) && TRANSIENT_SSH_CODES.has(err.code),
        deadline: req.deadline,
        signal: req.signal,
      });
    } catch (err) {
      throw withStep(err, step);
    }
  }

  private get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  private timeout(name: string, step: DeployStep): AppError {
    return deployError('RUNNER_DEPLOY_TIMEOUT', step, `Deploying the runner to ${name} took longer than the deployment timeout (stopped during ${step}). Check the link to the server, or raise Settings > Runner > deployment timeout.`);
  }
}

/** Marks where the handshake's output starts in the verify exec (put's thenRun), and the line with its status. */
const HANDSHAKE_MARK = 'cronium-handshake-begin';
const HANDSHAKE_EXIT = 'cronium-handshake-exit';

/** The handshake's part of the verify exec's output: what `version` printed and its exit status. */
function splitHandshake(r: ExecResult): Pick<ExecResult, 'code' | 'stdout' | 'stderr'> {
  const out = r.stdout ?? '';
  const start = out.indexOf(`${HANDSHAKE_MARK}\n`);
  const exit = new RegExp(`\n${HANDSHAKE_EXIT}=(\\d+)\n?$`).exec(out);
  if (start < 0 || !exit) return { code: null, stdout: out.slice(-300), stderr: r.stderr ?? '' };
  return { code: Number(exit[1]), stdout: out.slice(start + HANDSHAKE_MARK.length + 1, exit.index), stderr: r.stderr ?? '' };
}

/** Checks what `version` said against what the artifact promised: version, os/arch, kind. */
function checkHandshake(name: string, expected: { version: string; kind: RunnerKind; os: string; arch: string }, r: Pick<ExecResult, 'code' | 'stdout' | 'stderr'> & { signal?: string | null }): RunnerVersionInfo {
  const fail = (what: string) => handshakeFailed(name, expected.version, what);
  if (r.code !== 0) throw fail(`\`version\` exited ${r.code ?? r.signal}${r.stderr?.trim() ? ` (${r.stderr.trim().slice(0, 200)})` : ''}`);
  let info: RunnerVersionInfo;
  try {
    info = RunnerVersionInfo.parse(JSON.parse((r.stdout ?? '').trim().split('\n').pop() ?? ''));
  } catch {
    throw fail(`\`version\` printed ${JSON.stringify((r.stdout ?? '').slice(0, 120))}, not the expected JSON`);
  }
  return checkVersionInfo(name, expected, info);
}

function handshakeFailed(name: string, version: string, what: string): AppError {
  return deployError('RUNNER_HANDSHAKE_FAILED', 'handshake', `Runner ${version} on ${name} failed its handshake: ${what}. The artifact may be broken; deploy another version or use direct-ssh.`);
}

/** Checks what `version` said (now, or for the same bytes under the same node before) against what the artifact promised. */
function checkVersionInfo(name: string, expected: { version: string; kind: RunnerKind; os: string; arch: string }, info: RunnerVersionInfo): RunnerVersionInfo {
  const fail = (what: string) => handshakeFailed(name, expected.version, what);
  if (info.version !== expected.version) throw fail(`it reports version ${info.version}, expected ${expected.version}`);
  if (info.kind !== expected.kind) throw fail(`it reports kind ${info.kind}, expected ${expected.kind}`);
  if (expected.kind === 'sea' && (info.os !== expected.os || info.arch !== expected.arch)) {
    throw fail(`it reports ${info.os}-${info.arch}, expected ${expected.os}-${expected.arch}`);
  }
  return info;
}

function withStep(err: unknown, step: DeployStep): unknown {
  if (isAppError(err) && stepOf(err) === null) {
    return new AppError(err.code, err.message, { ...err.extra, details: { ...(err.extra.details ?? {}), step } });
  }
  return err;
}

function abortable<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', abort);
        reject(e);
      },
    );
  });
}
