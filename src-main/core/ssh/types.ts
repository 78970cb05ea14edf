/**
 * SSH layer types: what the pool is handed to reach a server. The layer has no database access; callers resolve a
 * server id into an SshTarget (credentials read from the keychain at that moment). A target is never logged as a whole.
 */

export type SshAuth =
  | { type: 'key'; privateKey: string; passphrase?: string }
  | { type: 'password'; password: string }
  /** The keys an ssh-agent holds, tried in the agent's order; `socket` is SSH_AUTH_SOCK (or 'pageant' / a pipe). */
  | { type: 'agent'; socket: string | undefined };

export interface SshTarget {
  serverId: string;
  /** The server's display name, used in every error message. */
  name: string;
  host: string;
  port: number;
  username: string;
  auth: SshAuth;
  /** 'SHA256:...' the user approved, or null when no key has been trusted yet (the connection is then refused). */
  pinnedFingerprint: string | null;
  /**
   * Jump hosts (ProxyJump), nearest to the workstation first. Each hop is a full target of its own: its own credential
   * and its own pinned key, checked before anything is sent to it. Absent or empty: a direct TCP connection.
   */
  hops?: SshTarget[];
  /** OpenSSH agent forwarding for the commands that ask for it (ExecOptions.agentForward); only with an 'agent' credential, off unless set. */
  agentForwarding?: boolean;
}

export type SshTargetResolver = (serverId: string) => Promise<SshTarget>;

export interface ExecOptions {
  /** When given, stdout is streamed here and not collected. */
  onStdout?(chunk: Buffer): void;
  /** When given, stderr is streamed here and not collected. */
  onStderr?(chunk: Buffer): void;
  stdin?: string | Buffer;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Bound on collected output per stream (default 8 MiB); beyond it output is dropped and `truncated` is set. */
  maxCollectBytes?: number;
  /**
   * Forward the workstation's agent to this one command (a job's script), honoured only when the server enables
   * agentForwarding. Every other command on the connection (probes, health checks, runner start) never gets the agent.
   */
  agentForward?: boolean;
}

export interface ExecResult {
  /** Exit code, or null when the process ended by a signal. */
  code: number | null;
  /** The signal that ended the process, spelled as Node does (e.g. 'SIGTERM'); null when it exited normally. */
  signal: string | null;
  stdout?: string;
  stderr?: string;
  truncated?: boolean;
}

export type ConnectionCloseReason = 'ended' | 'idle' | 'lost' | 'dead' | 'invalidated';

export type SshConnectionEvent =
  | { type: 'connected'; serverId: string; connectionId: string; connectMs: number }
  | { type: 'connect-failed'; serverId: string; code: string; message: string }
  | { type: 'liveness'; serverId: string; connectionId: string; latencyMs: number }
  | { type: 'dead'; serverId: string; connectionId: string; reason: string }
  | { type: 'closed'; serverId: string; connectionId: string; reason: ConnectionCloseReason };
