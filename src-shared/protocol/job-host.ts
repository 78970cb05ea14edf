/**
 * The job host's control protocol (`cronium-runner jobhost`): a runner process the app launches once per server and
 * runner version, through the same guarded exec as any runner start, that then starts the app's jobs in its own
 * process (the usual JobSupervisor, spool and socket) when asked over a Unix socket in ~/.cronium/jobhost/ (0700).
 * A job then costs no exec, no login shell and no Node start on the server.
 *
 * Trust: the launch exec hands the host a random host key on stdin (a 0600 file in the 0700 folder, deleted once
 * read), and the app keeps that key in memory only. Every control connection is challenged both ways with the
 * channel-auth proofs (channel-auth.ts) under the name `jobhost:<hostId>`: the app proves first (only the app may start
 * jobs), the host answers with its proof before the app sends anything of a job, and the job's start file (its token
 * and job key) crosses the socket sealed. A process that took the socket's place cannot prove the key: the app then
 * forgets the host and starts the job with the exec, as without a host.
 *
 * Framing: one JSON object per line (UTF-8, '\n'), at most JOB_HOST_MAX_LINE_BYTES; one request per connection.
 */
import { z } from 'zod';

export const JOB_HOST_PROTOCOL = 1;
/** The folder of the hosts' sockets, key files and output, under the runner home (~/.cronium). */
export const JOB_HOST_FOLDER = 'jobhost';
/** Longest line either side sends or accepts (the sealed start file is a few KB). */
export const JOB_HOST_MAX_LINE_BYTES = 64 * 1024;
/** How long a host lives without any job (running or started) before it exits by itself. */
export const JOB_HOST_IDLE_MS = 10 * 60_000;
/**
 * Longest Unix socket path every server OS takes (sun_path holds 108 bytes on Linux, 104 on macOS/BSD, with the NUL):
 * a job host's socket and a job's tunnel socket on the server.
 */
export const MAX_SOCKET_PATH_BYTES = 103;
/**
 * The launch exec's exit code when the host's socket path would be longer than MAX_SOCKET_PATH_BYTES (nothing was
 * started). Not the integrity guard's code (INTEGRITY_EXIT_CODE in runner-info.ts): the app tells the two apart.
 */
export const JOB_HOST_PATH_TOO_LONG_EXIT_CODE = 94;

/** A host's id: 16 base64url characters (12 random bytes), the name of its socket, key file and output file. */
export const JobHostId = z.string().regex(/^[A-Za-z0-9_-]{16}$/);

/** The name the channel-auth proofs and seal of a control connection are bound to (in place of a job id). */
export function jobHostChannelName(hostId: string): string {
  return `jobhost:${hostId}`;
}

/**
 * The name a host-start's start file is sealed under: the job id and payload are part of it, so a same-user process
 * that relays a control connection cannot hand the sealed start file of one job to another job id or payload.
 */
export function jobHostStartSealName(hostId: string, jobId: string, payload: string): string {
  return `${jobHostChannelName(hostId)}:start:${jobId}:${payload}`;
}

/** The key file the launch exec writes from its stdin (0600), read and deleted by the host at start. */
export const JobHostKeyFile = z.object({ key: z.string().min(40).max(128) });
export type JobHostKeyFile = z.infer<typeof JobHostKeyFile>;

const Nonce = z.string().min(20).max(128);
const Proof = z.string().min(20).max(128);
const JobId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
const Checksum = z.string().regex(/^[0-9a-f]{64}$/);

/** Host -> app, in order: hello (on connect), proof (after the app's challenge), then one answer to the request. */
export const HostToApp = z.discriminatedUnion('type', [
  z.object({ type: z.literal('host-hello'), protocol: z.number().int(), runnerVersion: z.string().max(64), hostId: JobHostId, hostNonce: Nonce, pid: z.number().int().positive() }),
  z.object({ type: z.literal('host-proof'), proof: Proof }),
  /** The job runs in the host: its supervisor connects to the tunnel the start file names, as a `run` would. */
  z.object({ type: z.literal('host-started'), jobId: JobId }),
  /** The payload is not (or not wholly) in ~/.cronium/payloads: nothing was started; place it and ask again. */
  z.object({ type: z.literal('host-payload-missing'), jobId: JobId }),
  /** Answer to host-abandon: whether a hosted job of that id was waiting for the app and is now ended. */
  z.object({ type: z.literal('host-abandoned'), jobId: JobId, ended: z.boolean() }),
  /** Anything refused (a wrong proof, a malformed request, a job id already in use, shutting down): nothing started. */
  z.object({ type: z.literal('host-refused'), reason: z.string().max(500) }),
]);
export type HostToApp = z.infer<typeof HostToApp>;

/** App -> host: the challenge (its nonce and its proof), then one request. */
export const AppToHost = z.discriminatedUnion('type', [
  z.object({ type: z.literal('host-challenge'), appNonce: Nonce, proof: Proof }),
  /** Start a new job: `sealedStart` is sealForChannel(hostKey, jobHostStartSealName(...), hostNonce, appNonce, RunnerStartFile JSON). */
  z.object({ type: z.literal('host-start'), jobId: JobId, payload: Checksum, sealedStart: z.string().min(1).max(48 * 1024) }),
  /** The app gave up on a job it started here before its hello (timeout): end it if it still waits for the app. */
  z.object({ type: z.literal('host-abandon'), jobId: JobId }),
]);
export type AppToHost = z.infer<typeof AppToHost>;
