/**
 * The Executor port: how one attempt of a job runs on its server. Implementations: DirectSshExecutor (the script over
 * an SSH exec channel) and RunnerSshExecutor (the deployed runner, detached, streaming through a reverse tunnel).
 * The JobService owns queueing, retries, fallback and state transitions; an executor only runs, streams and reports.
 */
import type { JobStatus } from '../../../src-shared/contract/jobs';
import type { LogStatus, LogStream } from '../../../src-shared/contract/logs';
import type { RunnerRequirements, ScriptType } from '../../../src-shared/contract/events';
import type { CompatibleRunner } from '../runners/runner-service';

export interface ExecutionEvent {
  id: string;
  version: number;
  name: string;
  scriptType: ScriptType;
  content: string;
  /** Plain environment variables. */
  env: Record<string, string>;
  timeoutSeconds: number;
  runnerRequirements: RunnerRequirements | null;
}

/** Where an executor puts output. The log pipeline behind it batches, masks secrets, sequences and fans out. */
export interface LogSink {
  readonly logId: string;
  /** Sequence number of the last line written (0 before any); the runner path numbers its lines after it. */
  readonly lastSequence: number;
  /** Raw output chunks (direct-ssh): split into lines, numbered by the sink. Chunks may split lines and UTF-8 characters. */
  writeChunk(stream: Exclude<LogStream, 'system'>, chunk: Buffer): void;
  /** Already-numbered lines (runner-ssh): duplicates (seq <= last stored) are dropped, gaps are reported. */
  appendSequenced(lines: Array<{ seq: number; stream: LogStream; ts: string; text: string }>): { accepted: number; duplicates: number; gapAfter: number | null };
  /** A line from the app itself ("connection lost, reconnecting..."), shown in the log as stream 'system'. */
  system(text: string): void;
  setStatus(status: LogStatus, extra?: { runnerVersion?: string; streamStartedAt?: string; runnerMetadata?: Record<string, unknown> }): void;
  /** Flush buffered lines to the database (also done on a short timer and before a final status). */
  flush(): Promise<void>;
  /** A secret the job learned of while it ran (a secret variable it set or read): masked in every later line. */
  addSecret?(value: string): void;
  /** `text` with every secret of this job masked (for outputs, reasons and notifications). */
  mask?(text: string): string;
}

export interface ExecutionContext {
  jobId: string;
  attempt: number;
  serverId: string;
  event: ExecutionEvent;
  /** Secret values injected as environment (masked in the log by the sink). Never written to disk anywhere. */
  secrets: Record<string, string>;
  /** Variables readable by the script (injected at start in direct-ssh; served by helpers in runner-ssh). */
  variables: Record<string, string>;
  /** The previous workflow step's output, for the input() helper. */
  input: unknown;
  /**
   * The run's parameters as CRONIUM_OPT_<NAME> variables: `env` plain, `secretEnv` secret (masked in the log, kept in
   * memory only). Absent for a job started before parameters existed (a resumed runner job).
   */
  parameters?: { env: Record<string, string>; secretEnv: Record<string, string> };
  log: LogSink;
  /** Aborted when the user cancels; the executor ends the remote process group and returns CANCELLED. */
  signal: AbortSignal;
  /** runner-ssh: the runner the mode policy made ready for this attempt. */
  runner?: CompatibleRunner;
  /** Tell the JobService that the remote process has started (QUEUED/DISPATCHING -> RUNNING). */
  markRunning(info?: { remotePid?: number; runnerId?: string; payloadId?: string; mode?: 'direct-ssh' | 'runner-ssh' }): void;
}

export interface ExecutionResult {
  status: Extract<JobStatus, 'SUCCESS' | 'FAILURE' | 'TIMEOUT' | 'CANCELLED' | 'PARTIAL'>;
  exitCode: number | null;
  signal: string | null;
  /** Why it ended this way, in words a person can act on (null for a plain success). */
  reason: string | null;
  output?: unknown;
  condition?: boolean | null;
}

export interface Executor {
  readonly mode: 'direct-ssh' | 'runner-ssh';
  execute(ctx: ExecutionContext): Promise<ExecutionResult>;
}

/**
 * Thrown by the runner executor when the runner could not be started (payload, tunnel, start, hello) and nothing of
 * the script ran: the execution service asks the mode policy whether the attempt may run direct-ssh instead.
 */
export class RunnerStartFailed extends Error {
  constructor(override readonly cause: unknown, message: string) {
    super(message);
    this.name = 'RunnerStartFailed';
  }
}
