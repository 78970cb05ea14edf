/**
 * DirectSshExecutor: runs one attempt of a job over an exec channel of the pooled SSH connection. The script and its
 * environment (plain variables, variables, secrets) travel on the channel's stdin: nothing is written to a file on the
 * server and no secret appears on a command line. The remote shell prints its process group first, on a private
 * marker line, so a timeout or a cancel ends the whole group (TERM, then KILL after a grace) and checks that no process
 * of it is left. A connection lost mid-run ends the attempt as PARTIAL (the lines received are kept), never RUNNING.
 */
import { randomUUID } from 'node:crypto';
import { sleep, systemClock, type Clock } from '../clock';
import { AppError, isAppError } from '../errors';
import type { SshPool } from '../ssh/ssh-pool';
import type { ExecResult } from '../ssh/types';
import { shellQuote } from '../ssh/shell-quote';
import { ENV_NAME_PATTERN, type ScriptType } from '../../../src-shared/contract/events';
import { OPTION_ENV_PREFIX, refusedVariableNameReason, VARIABLE_ENV_PREFIX } from '../../../src-shared/contract/variable-names';
import type { ExecutionContext, ExecutionResult, Executor } from './executor';

export interface DirectSshExecutorOptions {
  /** Between TERM and KILL when ending a process group (default 2 s). */
  killGraceMs?: number;
  /** How long to keep checking that no process of the group is left (default 5 s). */
  verifyTimeoutMs?: number;
  /** The job timeout and the waits while ending a process group (the system clock when absent). */
  clock?: Clock;
}

/** How each script type is started once the environment is in place; each reads the whole script before running it. */
const INTERPRETERS: Record<ScriptType, { shell: string; run: string }> = {
  // One bash for both parts (no extra /bin/sh). eval "$(cat)": bash reads the whole script first, so a script that
  // reads stdin gets EOF rather than its own text (a short script is read by the shell itself: see bootstrapCommand).
  bash: { shell: 'bash', run: 'eval "$(cat)"' },
  python: { shell: '/bin/sh', run: 'exec python3 -' },
  node: { shell: '/bin/sh', run: 'exec node -' },
};

/**
 * Up to this many bytes (and no NUL byte), a bash script is read by bash's own `read` instead of a `cat` process:
 * `read` takes a pipe one byte per system call, which costs less than starting `cat` only for short scripts
 * (bench/fleet-bench.ts: the server's CPU per job is what bounds a fleet run on a small machine).
 */
export const INLINE_READ_MAX_BYTES = 4096;

/** Whether bash reads this script itself (bootstrapCommand's `readInline`): short, and no NUL byte (`read -d ''` stops there). */
export function readsInline(content: string): boolean {
  return Buffer.byteLength(content, 'utf8') <= INLINE_READ_MAX_BYTES && !content.includes('\0');
}

export class DirectSshExecutor implements Executor {
  readonly mode = 'direct-ssh' as const;
  private readonly killGraceMs: number;
  private readonly verifyTimeoutMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly pool: SshPool,
    options: DirectSshExecutorOptions = {},
  ) {
    this.killGraceMs = options.killGraceMs ?? 2_000;
    this.verifyTimeoutMs = options.verifyTimeoutMs ?? 5_000;
    this.clock = options.clock ?? systemClock;
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionResult> {
    if (ctx.signal.aborted) return { status: 'CANCELLED', exitCode: null, signal: null, reason: stopReason(ctx.signal, 'cancelled before it started') };
    const nonce = randomUUID().replace(/-/g, '');
    const command = bootstrapCommand(ctx.event.scriptType, nonce, readsInline(ctx.event.content));
    const stdin = Buffer.concat([Buffer.from(prelude(ctx, nonce), 'utf8'), Buffer.from(ctx.event.content, 'utf8'), Buffer.from('\n')]);

    const channel = new AbortController();
    let group: { pgid: number; isGroup: boolean } | null = null;
    let markerSeen: () => void = () => undefined;
    const marker = new Promise<void>((resolve) => (markerSeen = resolve));
    let header: Buffer | null = Buffer.alloc(0);
    let stopping: Promise<{ leftover: number[] }> | null = null;
    let ended: 'timeout' | 'cancel' | null = null;

    const onStdout = (chunk: Buffer) => {
      if (header === null) return ctx.log.writeChunk('stdout', chunk);
      header = Buffer.concat([header, chunk]);
      const nl = header.indexOf(0x0a);
      if (nl === -1 && header.length < 512) return;
      const first = header.subarray(0, nl === -1 ? 0 : nl).toString('latin1');
      const m = first.charCodeAt(0) === 0x1e ? /^.cronium-pgid:(\d+):(\d+):([0-9a-f]+)$/.exec(first) : null;
      let rest = header;
      if (m && m[3] === nonce) {
        const pgid = Number(m[1]);
        const pid = Number(m[2]);
        group = { pgid: pgid === pid ? pgid : pid, isGroup: pgid === pid };
        rest = header.subarray(nl + 1);
        ctx.markRunning({ remotePid: pid });
        markerSeen();
      }
      header = null;
      if (rest.length > 0) ctx.log.writeChunk('stdout', rest);
    };
    const onStderr = (chunk: Buffer) => ctx.log.writeChunk('stderr', chunk);

    let mainDone: () => void = () => undefined;
    const main = new Promise<void>((resolve) => (mainDone = resolve));
    const stop = (kind: 'timeout' | 'cancel') => {
      if (ended) return;
      ended = kind;
      stopping = (async () => {
        if (!group) await Promise.race([marker, main, sleep(this.clock, 5_000)]);
        if (!group) {
          channel.abort();
          return { leftover: [] };
        }
        return this.endGroup(ctx.serverId, group, main, channel);
      })();
    };
    const timeoutMs = ctx.event.timeoutSeconds * 1000;
    const timer = this.clock.setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = () => stop('cancel');
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    let result: ExecResult | undefined;
    let failure: unknown;
    try {
      result = await this.pool.exec(ctx.serverId, command, { stdin, onStdout, onStderr, signal: channel.signal, agentForward: true });
    } catch (err) {
      failure = err;
    } finally {
      mainDone();
      timer.cancel();
      ctx.signal.removeEventListener('abort', onAbort);
    }
    if (header !== null && header.length > 0) ctx.log.writeChunk('stdout', header);

    const stopped = stopping ? await (stopping as Promise<{ leftover: number[] }>) : null;
    const g = group as { pgid: number; isGroup: boolean } | null;
    if (ended === 'timeout') {
      return {
        status: 'TIMEOUT', exitCode: null, signal: null,
        reason: `did not finish within ${ctx.event.timeoutSeconds} s; ${describeStop(g, stopped, this.killGraceMs)}`,
      };
    }
    if (ended === 'cancel') {
      return { status: 'CANCELLED', exitCode: null, signal: null, reason: `${stopReason(ctx.signal, 'cancelled')}; ${describeStop(g, stopped, this.killGraceMs)}` };
    }
    if (failure !== undefined) {
      const message = isAppError(failure) ? failure.message : String((failure as Error)?.message ?? failure);
      if (g) return { status: 'PARTIAL', exitCode: null, signal: null, reason: `${message}; the output received until then is kept` };
      return { status: 'FAILURE', exitCode: null, signal: null, reason: message };
    }
    const code = result!.code;
    const sig = result!.signal;
    if (code === 0) return { status: 'SUCCESS', exitCode: 0, signal: null, reason: null };
    if (code !== null) return { status: 'FAILURE', exitCode: code, signal: null, reason: exitReason(code, ctx.event.scriptType) };
    return { status: 'FAILURE', exitCode: null, signal: sig, reason: `ended by signal SIG${sig ?? '?'} on the server` };
  }

  /** TERM the group, KILL it after the grace, then check that none of it is left; finally close the channel. */
  private async endGroup(serverId: string, group: { pgid: number; isGroup: boolean }, main: Promise<void>, channel: AbortController): Promise<{ leftover: number[] }> {
    const target = group.isGroup ? `-${group.pgid}` : `${group.pgid}`;
    const kill = (sig: 'TERM' | 'KILL') => this.pool.exec(serverId, `kill -${sig} -- ${target} 2>/dev/null; true`, { timeoutMs: 5_000 }).catch(() => undefined);
    let leftover: number[] = [];
    try {
      await kill('TERM');
      await Promise.race([main, sleep(this.clock, this.killGraceMs)]);
      await kill('KILL');
      const deadline = this.clock.now() + this.verifyTimeoutMs;
      for (;;) {
        leftover = await this.livingMembers(serverId, group);
        if (leftover.length === 0 || this.clock.now() > deadline) break;
        await kill('KILL');
        await sleep(this.clock, 200);
      }
    } catch {
      // The connection is gone: the processes die with it (they lose their stdout), nothing more can be done from here.
    } finally {
      await Promise.race([main, sleep(this.clock, 1_000)]);
      channel.abort();
    }
    return { leftover };
  }

  /** Processes of the group that are still alive (zombies waiting for a late reaper do not count). */
  private async livingMembers(serverId: string, group: { pgid: number; isGroup: boolean }): Promise<number[]> {
    const script = group.isGroup
      ? `for f in /proc/[0-9]*/stat; do read -r s 2>/dev/null < "$f" || continue; p=\${f#/proc/}; p=\${p%/stat}; s=\${s##*) }; set -- $s; [ "$3" = ${group.pgid} ] && [ "$1" != Z ] && echo "$p"; done; true`
      : `s=$(cat /proc/${group.pgid}/stat 2>/dev/null) && s=\${s##*) } && set -- $s && [ "$1" != Z ] && echo ${group.pgid}; true`;
    const res = await this.pool.exec(serverId, script, { timeoutMs: 5_000 });
    return (res.stdout ?? '').split('\n').filter(Boolean).map(Number);
  }
}

/**
 * The command line: no secret and no script on it, only how to read them from stdin (POSIX sh, or bash for bash
 * scripts). The marker names the process group (the shell is a session leader under sshd) without forking.
 * sshd runs it with the user's login shell. When that shell is bash (BASH_VERSINFO, an array, is never inherited
 * through the environment), the part runs in it, out of POSIX mode, instead of in a second bash started by `exec`:
 * one process image less per job on the server, which is what a fleet run is bound by. The script then also sees
 * what the login shell's startup files set up (as with `ssh host 'script'`). Any other shell gets `exec <shell> -c`.
 * It ends with the script's status either way. `readInline`: the script is short and has no NUL byte, so bash reads
 * it itself instead of starting `cat`.
 */
export function bootstrapCommand(scriptType: ScriptType, nonce: string, readInline = false): string {
  const { shell, run } = INTERPRETERS[scriptType];
  const inner = [
    'pg=""; read -r st 2>/dev/null < /proc/$$/stat && st=${st##*) } && set -- $st && pg=$3; [ -n "$pg" ] || pg=$$',
    `printf "\\036cronium-pgid:%s:%s:${nonce}\\n" "$pg" "$$"`,
    'p=""',
    `while IFS= read -r l; do [ "$l" = "__CRONIUM_END_${nonce}__" ] && break; p="$p$l\n"; done`,
    'eval "$p"; unset p l pg st; set --',
    // `read -d ''` stops at EOF (the script has no NUL); "unset p" runs before the script, its text already expanded.
    scriptType === 'bash' && readInline ? `IFS= read -r -d '' p; eval "unset p; $p"` : run,
  ].join('\n');
  // Not a list (`test && eval || exec`): bash ignores `set -e` inside any part of a list but its last.
  const here = `${scriptType === 'bash' ? 'set +o posix\n' : ''}${inner}\nexit $?`;
  return `test -n "$BASH_VERSINFO" || exec ${shell} -c ${shellQuote(inner)} cronium-script; eval ${shellQuote(here)}`;
}

/**
 * The stdin prelude: exports, then the end marker; the script follows it. Variables never take their own names (a
 * script could otherwise set BASH_ENV or LD_PRELOAD for every later job): each is exported as CRONIUM_VAR_<name> (when
 * the name is a valid shell name) and all of them in $CRONIUM_VARIABLES. The event's own env and secrets keep their
 * names, except names that change how a shell or interpreter starts (refused when the event is saved, skipped here
 * for events saved before that rule).
 */
export function prelude(ctx: Pick<ExecutionContext, 'jobId' | 'attempt' | 'event' | 'secrets' | 'variables' | 'input' | 'parameters'>, nonce: string): string {
  const vars: Array<[string, string]> = [
    ['CRONIUM_JOB_ID', ctx.jobId],
    ['CRONIUM_EVENT_ID', ctx.event.id],
    ['CRONIUM_EVENT_VERSION', String(ctx.event.version)],
    ['CRONIUM_ATTEMPT', String(ctx.attempt)],
    ['CRONIUM_VARIABLES', JSON.stringify(ctx.variables ?? {})],
  ];
  if (ctx.input !== undefined) vars.push(['CRONIUM_INPUT', JSON.stringify(ctx.input)]);
  for (const [k, v] of Object.entries(ctx.variables ?? {})) if (ENV_NAME_PATTERN.test(k)) vars.push([`${VARIABLE_ENV_PREFIX}${k}`, v]);
  for (const [k, v] of [...Object.entries(ctx.event.env), ...Object.entries(ctx.secrets)]) if (refusedVariableNameReason(k) === null) vars.push([k, v]);
  // Run-time parameters: always under CRONIUM_OPT_ (built by the JobService from checked option names).
  for (const [k, v] of [...Object.entries(ctx.parameters?.env ?? {}), ...Object.entries(ctx.parameters?.secretEnv ?? {})]) {
    if (k.startsWith(OPTION_ENV_PREFIX)) vars.push([k, v]);
  }
  const lines = vars
    .filter(([k]) => ENV_NAME_PATTERN.test(k))
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  return `${lines.join('\n')}\n__CRONIUM_END_${nonce}__\n`;
}

function exitReason(code: number, scriptType: ScriptType): string {
  if (code === 127) {
    const tool = scriptType === 'python' ? 'python3' : scriptType === 'node' ? 'node' : 'a command the script uses';
    return `exited with code 127: a command was not found on the server (is ${tool} installed and on the PATH?)`;
  }
  if (code > 128 && code < 160) return `exited with code ${code} (killed by signal ${code - 128})`;
  return `exited with code ${code}`;
}

function describeStop(group: { pgid: number; isGroup: boolean } | null, stopped: { leftover: number[] } | null, graceMs: number): string {
  if (!group) return 'the script had not reported its process yet, so only its channel was closed';
  const what = group.isGroup ? `its process group ${group.pgid}` : `its process ${group.pgid}`;
  const left = stopped?.leftover ?? [];
  const after = `${what} was ended (TERM, then KILL after ${graceMs / 1000} s)`;
  return left.length ? `${after}, but process(es) ${left.join(', ')} were still alive when checked` : `${after}; no process of it is left on the server`;
}

function stopReason(signal: AbortSignal, fallback: string): string {
  const r = signal.reason;
  if (r instanceof AppError) return r.code === 'APP_STOPPING' ? `${fallback}: Cronium was closing` : r.message;
  return fallback;
}
