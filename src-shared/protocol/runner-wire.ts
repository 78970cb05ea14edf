/**
 * The runner wire protocol, version 1 (+ capability channel-auth-v1: hello -> challenge -> proof -> welcome, see
 * channel-auth.ts): the JSON messages a runner and the app exchange over one WebSocket per job
 * (through the SSH reverse tunnel, to the listener's /api/runner/stream/<jobId>), and the helper messages a script
 * exchanges with its runner over the local helper socket. Both ends validate every message on arrival with these
 * schemas and refuse anything larger than MAX_WIRE_MESSAGE_BYTES. Pure schemas and constants: no Node, no I/O.
 *
 * Sequence numbers are the runner's: 1, 2, 3 ... per job, one per output line, never reused. The app acknowledges
 * the highest sequence it has stored durably (`ack`), the runner may then forget everything up to it.
 */
import { z } from 'zod';

export const RUNNER_WIRE_VERSION = 1;
/** Largest message either end sends or accepts (bytes of UTF-8 JSON). */
export const MAX_WIRE_MESSAGE_BYTES = 4 * 1024 * 1024;
/** A longer output line is cut into pieces of this many characters, each its own numbered line. */
export const MAX_LINE_CHARS = 256 * 1024;
/** The listener path a runner connects to (followed by the job id). */
export const RUNNER_STREAM_PATH_PREFIX = '/api/runner/stream/';

export function runnerStreamPath(jobId: string): string {
  return `${RUNNER_STREAM_PATH_PREFIX}${encodeURIComponent(jobId)}`;
}

const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const WireLine = z.object({
  seq: Seq.min(1),
  stream: z.enum(['stdout', 'stderr']),
  /** ISO-8601 time the runner read the line. */
  ts: z.string().min(1).max(40),
  text: z.string().max(MAX_LINE_CHARS),
});
export type WireLine = z.infer<typeof WireLine>;

/** 'starting': waiting for `env` before the script starts; 'running'; 'exited': the script ended (exit info known). */
export const RunnerJobState = z.enum(['starting', 'running', 'exited']);
export type RunnerJobState = z.infer<typeof RunnerJobState>;

export const HelperOp = z.enum(['input', 'output', 'getVariable', 'setVariable', 'setCondition', 'event']);
export type HelperOp = z.infer<typeof HelperOp>;

/** Arguments per helper operation (checked by the app before it answers). */
export const HelperArgs = {
  input: z.object({}).passthrough(),
  output: z.object({ value: z.unknown() }),
  getVariable: z.object({ key: z.string().min(1).max(256) }),
  setVariable: z.object({ key: z.string().min(1).max(256), value: z.string().max(1024 * 1024), scope: z.enum(['global', 'event']).optional(), secret: z.boolean().optional() }),
  setCondition: z.object({ value: z.boolean() }),
  event: z.object({}).passthrough(),
} satisfies Record<HelperOp, z.ZodType>;

// ---- runner -> app ------------------------------------------------------------------------------------------------

export const HelloMessage = z.object({
  type: z.literal('hello'),
  protocolVersion: z.number().int().positive(),
  runnerVersion: z.string().min(1).max(64),
  os: z.string().max(32),
  arch: z.string().max(32),
  capabilities: z.array(z.string().max(64)).max(64),
  jobId: z.string().min(1).max(128),
  lastAckedSeq: Seq,
  lastSeq: Seq,
  state: RunnerJobState,
  /** The runner's nonce for this connection (channel-auth-v1): the app answers with `challenge`. */
  nonce: z.string().min(16).max(128).optional(),
});

/** The runner's proof that it holds the job key (channel-auth-v1), sent once the app's `challenge` checked out. */
export const ProofMessage = z.object({
  type: z.literal('proof'),
  proof: z.string().min(16).max(128),
});

export const LogMessage = z.object({
  type: z.literal('log'),
  lines: z.array(WireLine).min(1).max(200_000),
});

/** The capability (runner hello) and welcome `logFormat` value of column-wise log batches. */
export const LOG_COLUMNS_CAPABILITY = 'log-columns-v1' as const;
export const LOG_COLUMNS_FORMAT = 'columns-v1' as const;

/*
 * The `log.columns` frame (capability log-columns-v1, sent only after a welcome with logFormat 'columns-v1'), built by
 * encodeLogColumns and checked by checkLogColumns below (one plain check per batch, no zod schema): lines first,
 * first+1, ... first+count-1 (count = lens.length); streams: one character per line, 'o' stdout or 'e' stderr; the
 * lines' times run-length coded (tsRuns[i] lines in a row share ts[i]); text: every line's text joined, lens[i] the
 * length of line i in UTF-16 code units (JavaScript string length). One long string instead of one string per line:
 * JSON.parse interns each short string it makes, which cost more than everything else on the app's side. The app
 * turns it into the same lines a `log` batch carries.
 */

export const ExitMessage = z.object({
  type: z.literal('exit'),
  /** Exit code, or null when the script ended by a signal or never started. */
  code: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  durationMs: z.number().min(0),
  output: z.unknown().optional(),
  condition: z.boolean().nullable().optional(),
  /** The last sequence number of the job: the app has everything once it has stored up to here. */
  lastSeq: Seq,
  /** Set when the runner could not run the script at all (bad payload signature, interpreter missing, ...). */
  error: z.string().max(4000).optional(),
});

export const HelperRequestMessage = z.object({
  type: z.literal('helper.request'),
  id: z.string().min(1).max(64),
  op: HelperOp,
  args: z.record(z.string(), z.unknown()).default({}),
});

export const HealthMessage = z.object({
  type: z.literal('health'),
  rssBytes: z.number().min(0).optional(),
  spoolBytes: z.number().min(0).optional(),
  uptimeMs: z.number().min(0).optional(),
});

/** A message the other end refused (malformed, unknown, too large); informational, it never ends the job. */
export const ErrorMessage = z.object({
  type: z.literal('error'),
  message: z.string().max(4000),
});

export const RunnerToApp = z.discriminatedUnion('type', [HelloMessage, ProofMessage, LogMessage, ExitMessage, HelperRequestMessage, HealthMessage, ErrorMessage]);
export type RunnerToApp = z.infer<typeof RunnerToApp>;

// ---- app -> runner ------------------------------------------------------------------------------------------------

export const WelcomeMessage = z.object({
  type: z.literal('welcome'),
  /** Send every line with seq > resumeFrom (again), in order. */
  resumeFrom: Seq,
  /** A fresh token for the runner's next reconnection (tokens are short-lived; each welcome renews it). */
  token: z.string().max(4096).optional(),
  /** The same, sealed for this connection (channel-auth-v1; the app sends this, never `token`). */
  sealedToken: z.string().max(8192).optional(),
  /**
   * The app reads column-wise log batches (`log.columns`, capability log-columns-v1 in the runner's hello): the runner
   * sends its batches that way on this connection from now on. Absent: plain `log` batches (an older app).
   */
  logFormat: z.literal(LOG_COLUMNS_FORMAT).optional(),
});

/** The app's nonce and its proof that it holds the job key (channel-auth-v1), the answer to `hello`. */
export const ChallengeMessage = z.object({
  type: z.literal('challenge'),
  nonce: z.string().min(16).max(128),
  proof: z.string().min(16).max(128),
});

export const AckMessage = z.object({ type: z.literal('ack'), upTo: Seq });

/**
 * Secret values for the script's environment, and further secret values the script can read (secret variables, via
 * getVariable) to mask: held in memory by the runner, masked in every line before it is spooled, never written to disk.
 */
export const EnvMessage = z.object({
  type: z.literal('env'),
  values: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).max(128), z.string().max(1024 * 1024)),
  mask: z.array(z.string().max(1024 * 1024)).max(10_000).optional(),
  /** channel-auth-v1: {values, mask} as JSON, sealed for this connection; `values` is then empty. */
  sealed: z.string().max(MAX_WIRE_MESSAGE_BYTES).optional(),
});

/** What `env.sealed` holds once opened. */
export const SealedEnv = z.object({
  values: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).max(128), z.string().max(1024 * 1024)),
  mask: z.array(z.string().max(1024 * 1024)).max(10_000).default([]),
  /** Plain environment of this run (run-time parameters, CRONIUM_OPT_*): set for the script, not masked. */
  plain: z.record(z.string().regex(/^CRONIUM_OPT_[A-Z0-9_]+$/).max(128), z.string().max(1024 * 1024)).default({}),
});

export const HelperResponseMessage = z.object({
  type: z.literal('helper.response'),
  id: z.string().min(1).max(64),
  ok: z.boolean(),
  value: z.unknown().optional(),
  error: z.string().max(4000).optional(),
});

export const CancelMessage = z.object({
  type: z.literal('cancel'),
  /** Between TERM and KILL of the script's process group. */
  graceMs: z.number().int().min(0).max(600_000),
});

export const AppToRunner = z.discriminatedUnion('type', [ChallengeMessage, WelcomeMessage, AckMessage, EnvMessage, HelperResponseMessage, CancelMessage, ErrorMessage]);
export type AppToRunner = z.infer<typeof AppToRunner>;

// ---- script <-> runner (the local helper socket) ----------------------------------------------------------------

/** One request per line on the helper socket; the runner answers with one HelperReply line of the same id. */
export const HelperCall = z.object({
  id: z.string().min(1).max(64),
  op: HelperOp,
  args: z.record(z.string(), z.unknown()).default({}),
});
export type HelperCall = z.infer<typeof HelperCall>;

export const HelperReply = HelperResponseMessage.omit({ type: true });
export type HelperReply = z.infer<typeof HelperReply>;

// ---- parsing --------------------------------------------------------------------------------------------------------

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodType<T>, raw: string, byteLength: number, what: string, fast?: (json: unknown) => ParseResult<T> | undefined): ParseResult<T> {
  if (byteLength > MAX_WIRE_MESSAGE_BYTES) {
    return { ok: false, error: `${what} message of ${byteLength} bytes is larger than the ${MAX_WIRE_MESSAGE_BYTES} bytes allowed` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: `${what} message is not JSON` };
  }
  const quick = fast?.(json);
  if (quick) return quick;
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first?.path.length ? first.path.join('.') : 'message';
    return { ok: false, error: `${what} message refused: ${where}: ${first?.message ?? 'invalid'}` };
  }
  return { ok: true, message: parsed.data };
}

/**
 * The hot path of the runner stream: a `log` batch is checked once, in one loop of plain comparisons enforcing the same
 * rules as LogMessage / WireLine, instead of zod building and checking every line (about 15% of the runner path's
 * profile). The lines are made anew with just the four fields (the app renumbers and keeps them, see LogAggregator).
 * Not a `log` message: undefined.
 */
function checkLogBatch(json: unknown): ParseResult<RunnerToApp> | undefined {
  if (typeof json !== 'object' || json === null || (json as { type?: unknown }).type !== 'log') return undefined;
  const refuse = (where: string, why: string): ParseResult<RunnerToApp> => ({ ok: false, error: `runner message refused: ${where}: ${why}` });
  const lines = (json as { lines?: unknown }).lines;
  if (!Array.isArray(lines)) return refuse('lines', 'expected an array');
  if (lines.length < 1 || lines.length > 200_000) return refuse('lines', `a batch holds 1 to 200000 lines, not ${lines.length}`);
  const out: WireLine[] = new Array<WireLine>(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const line: unknown = lines[i];
    if (typeof line !== 'object' || line === null) return refuse(`lines.${i}`, 'expected an object');
    const { seq, stream, ts, text } = line as Record<string, unknown>;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return refuse(`lines.${i}.seq`, 'expected a whole number from 1');
    if (stream !== 'stdout' && stream !== 'stderr') return refuse(`lines.${i}.stream`, "expected 'stdout' or 'stderr'");
    if (typeof ts !== 'string' || ts.length < 1 || ts.length > 40) return refuse(`lines.${i}.ts`, 'expected a time of 1 to 40 characters');
    if (typeof text !== 'string' || text.length > MAX_LINE_CHARS) return refuse(`lines.${i}.text`, `expected text of at most ${MAX_LINE_CHARS} characters`);
    out[i] = { seq, stream, ts, text };
  }
  return { ok: true, message: { type: 'log', lines: out } };
}

/**
 * A `log.columns` batch, checked once (plain comparisons, no zod) and turned into the lines of a `log` batch: refuses a
 * frame whose columns disagree in length, whose seqs leave the safe integers, or with a bad stream code, time or text.
 */
function checkLogColumns(json: unknown): ParseResult<RunnerToApp> | undefined {
  if (typeof json !== 'object' || json === null || (json as { type?: unknown }).type !== 'log.columns') return undefined;
  const refuse = (where: string, why: string): ParseResult<RunnerToApp> => ({ ok: false, error: `runner message refused: log.columns ${where}: ${why}` });
  const { first, streams, ts, tsRuns, lens, text } = json as Record<string, unknown>;
  if (!Array.isArray(lens)) return refuse('lens', 'expected an array');
  const count = lens.length;
  if (count < 1 || count > 200_000) return refuse('lens', `a batch holds 1 to 200000 lines, not ${count}`);
  if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 1 || !Number.isSafeInteger(first + count - 1)) return refuse('first', 'expected a whole number from 1');
  if (typeof streams !== 'string' || streams.length !== count || !/^[oe]*$/.test(streams)) return refuse('streams', `expected ${count} stream codes, each 'o' or 'e'`);
  if (!Array.isArray(ts) || !Array.isArray(tsRuns) || ts.length !== tsRuns.length) return refuse('ts', 'expected as many times as time runs');
  let covered = 0;
  for (let i = 0; i < ts.length; i++) {
    const t: unknown = ts[i];
    const run: unknown = tsRuns[i];
    if (typeof t !== 'string' || t.length < 1 || t.length > 40) return refuse(`ts.${i}`, 'expected a time of 1 to 40 characters');
    if (typeof run !== 'number' || !Number.isSafeInteger(run) || run < 1) return refuse(`tsRuns.${i}`, 'expected a whole number from 1');
    covered += run;
  }
  if (covered !== count) return refuse('tsRuns', `the time runs cover ${covered} lines, the batch has ${count}`);
  if (typeof text !== 'string') return refuse('text', 'expected a string');
  let total = 0;
  for (let i = 0; i < count; i++) {
    const len: unknown = lens[i];
    if (typeof len !== 'number' || !Number.isSafeInteger(len) || len < 0 || len > MAX_LINE_CHARS) return refuse(`lens.${i}`, `expected a length of 0 to ${MAX_LINE_CHARS}`);
    total += len;
  }
  if (total !== text.length) return refuse('text', `the lengths add up to ${total} characters, the text has ${text.length}`);
  const lines: WireLine[] = new Array<WireLine>(count);
  const runs = tsRuns as number[];
  let run = 0;
  let left = runs[0];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (left === 0) left = runs[++run];
    left--;
    const end = at + (lens[i] as number);
    lines[i] = { seq: first + i, stream: streams.charCodeAt(i) === 111 ? 'stdout' : 'stderr', ts: (ts as string[])[run], text: text.slice(at, end) };
    at = end;
  }
  return { ok: true, message: { type: 'log', lines } };
}

/**
 * The `log.columns` frame of consecutive lines (the runner's side of the format), or null when their seqs are not
 * consecutive (the caller then sends a plain `log` batch).
 */
export function encodeLogColumns(lines: readonly WireLine[]): string | null {
  const count = lines.length;
  if (count === 0) return null;
  const first = lines[0].seq;
  // Built by hand (the same text as JSON.stringify of the frame object): streams as runs of one letter, the texts
  // joined as they come, lens and tsRuns joined as numbers. About half the CPU of building the object and its JSON.
  let streams = '';
  let runStream = lines[0].stream;
  let runStart = 0;
  let text = '';
  let lastTs: string | null = null;
  const ts: string[] = [];
  const tsRuns: number[] = [];
  const lens: number[] = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const l = lines[i];
    if (l.seq !== first + i) return null;
    if (l.stream !== runStream) {
      streams += streamLetter(runStream).repeat(i - runStart);
      runStream = l.stream;
      runStart = i;
    }
    if (l.ts === lastTs) tsRuns[tsRuns.length - 1]++;
    else {
      lastTs = l.ts;
      ts.push(l.ts);
      tsRuns.push(1);
    }
    const t = l.text;
    lens[i] = t.length;
    text += t;
  }
  streams += streamLetter(runStream).repeat(count - runStart);
  return `{"type":"log.columns","first":${first},"streams":"${streams}","ts":${JSON.stringify(ts)},"tsRuns":[${tsRuns.join(',')}],"lens":[${lens.join(',')}],"text":${JSON.stringify(text)}}`;
}

function streamLetter(stream: WireLine['stream']): string {
  return stream === 'stdout' ? 'o' : 'e';
}

/**
 * Validates a message that arrived at the app from a runner. `byteLength` is the frame's size on the wire. A `log`
 * message's lines are fresh objects of exactly seq, stream, ts and text, the caller's to keep or change.
 */
export function parseRunnerMessage(raw: string, byteLength = raw.length): ParseResult<RunnerToApp> {
  return parseWith(RunnerToApp, raw, byteLength, 'runner', (json) => checkLogBatch(json) ?? checkLogColumns(json));
}

/** Validates a message that arrived at a runner from the app. */
export function parseAppMessage(raw: string, byteLength = raw.length): ParseResult<AppToRunner> {
  return parseWith(AppToRunner, raw, byteLength, 'app');
}

// ---- the payload and the job start file (app -> runner, through files on the server) -------------------------------

export const PAYLOAD_FORMAT_VERSION = 1;
/**
 * Files in ~/.cronium/payloads/<checksum>/ on a server. A payload is there once its archive is (non-empty; the start
 * exec's check compares its size) and its signature file, uploaded last, is too. Each use rewrites its last-used file
 * (the app's server-side cleanup reads it).
 */
export const PAYLOAD_ARCHIVE_FILE = 'payload.tar.gz';
export const PAYLOAD_SIGNATURE_FILE = 'payload.sig';
export const PAYLOAD_LAST_USED_FILE = 'last-used';
/** Inside the archive. */
export const PAYLOAD_MANIFEST_FILE = 'manifest.json';

export const PayloadInterpreter = z.enum(['bash', 'python3', 'node']);
export type PayloadInterpreter = z.infer<typeof PayloadInterpreter>;

/** manifest.json inside a payload. Only non-secret values: secrets reach the runner over the socket, never a file. */
export const PayloadManifest = z.object({
  formatVersion: z.literal(PAYLOAD_FORMAT_VERSION),
  interpreter: PayloadInterpreter,
  /** The script's file name inside the archive. */
  entry: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()),
  timeoutSeconds: z.number().int().positive(),
  /** Event metadata the event() helper returns, completed with the job's own ids at run time. */
  job: z.object({ eventId: z.string(), eventName: z.string(), eventVersion: z.number().int() }),
  /** Helper shims per language, file names inside the archive. */
  helpers: z.object({ bash: z.string(), python: z.string(), node: z.string() }),
});
export type PayloadManifest = z.infer<typeof PayloadManifest>;

/** payload.sig: an ed25519 signature over payloadSignedString(checksum), with the key's id. */
export const PayloadSignature = z.object({
  formatVersion: z.literal(PAYLOAD_FORMAT_VERSION),
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
  keyId: z.string().min(1).max(100),
  signature: z.string().min(1).max(200),
});
export type PayloadSignature = z.infer<typeof PayloadSignature>;

/** What a payload signature covers: the archive's sha256 (the payload's content key). */
export function payloadSignedString(checksum: string): string {
  return `cronium-payload:v1:${checksum}`;
}

/**
 * The job's start file (start.json for `run`, attach.json for `attach`), written 0600 into the 0700 job folder from
 * the exec's stdin and deleted by the runner as soon as it has read it: the token and the job key never appear on a
 * command line or stay on disk.
 */
export const RunnerStartFile = z.object({
  token: z.string().min(1).max(4096),
  /** The tunnel as a loopback TCP port (servers without streamlocal forwarding: Dropbear, AllowStreamLocalForwarding no). */
  port: z.number().int().min(1).max(65535).optional(),
  /** The tunnel as a Unix socket inside the 0700 job folder (OpenSSH streamlocal forwarding); preferred over `port`. */
  socket: z.string().startsWith('/').max(107).optional(),
  /** PEM of the public key payloads must be signed with (start only). */
  payloadPublicKey: z.string().max(4096).optional(),
  /** The job key (channel-auth-v1, base64url of 32 random bytes): both ends prove they hold it on every connection. */
  channelKey: z.string().min(40).max(128).optional(),
  /** LOG_STREAM_BUFFER_SIZE: bytes per `log` batch. */
  bufferSize: z.number().int().min(1024).max(MAX_WIRE_MESSAGE_BYTES / 2).optional(),
}).refine((f) => f.port !== undefined || f.socket !== undefined, { message: 'the start file names no tunnel (port or socket)' });
export type RunnerStartFile = z.infer<typeof RunnerStartFile>;

/** Printed (one JSON line) by `cronium-runner status` and `attach`. */
export const RunnerJobStatus = z.object({
  jobId: z.string(),
  state: z.enum(['unknown', 'starting', 'running', 'exited']),
  supervisor: z.enum(['alive', 'gone', 'signalled', 'restarted']),
  lastSeq: Seq,
  pid: z.number().int().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
});
export type RunnerJobStatus = z.infer<typeof RunnerJobStatus>;
