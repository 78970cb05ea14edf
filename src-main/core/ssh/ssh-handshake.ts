/**
 * The SSH handshake, once for every connection the app opens: the transport (a TCP socket, or a channel through the
 * jump hosts), the host-key check before any credential, and the credential (key, password or ssh-agent). Jump hosts
 * follow ProxyJump: connect to the first hop, `forwardOut` to the next, and hand that channel to the next handshake
 * as its socket, so every hop is verified against its own pinned key and logs in with its own credential.
 * Nothing here keeps a credential after the handshake but the parsed key in parsed-keys.ts (memory only, dropped soon
 * after its last use); SshConnection owns what this returns.
 */
import { handshakeGate } from './handshake-gate';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig, type PublicKeyAuthMethod } from 'ssh2';
import { systemClock, type Clock } from '../clock';
import { AppError } from '../errors';
import { HostKeyVerifier, probeHostKey, type HostKeyInfo } from './host-key';
import { parsedKeys } from './parsed-keys';
import { checkAgent } from './ssh-agent';
import { sshErrorToAppError, type SshErrorContext } from './errors';
import type { SshTarget } from './types';

export interface HandshakeOptions {
  /** Bound on each hop's (and the destination's) TCP connect + key exchange + authentication. */
  connectTimeoutMs: number;
  clock?: Clock;
}

/** The jump-host connections a destination is reached through, nearest first; the last one carries `stream`. */
export interface HopChain {
  /** The channel to the destination's SSH port, opened on the last hop. */
  stream: ClientChannel;
  clients: Client[];
  /** Names of the hops, for messages. */
  names: string[];
  close(): void;
}

export function errorContext(target: SshTarget): SshErrorContext {
  return {
    name: target.name, host: target.host, port: target.port, username: target.username, authType: target.auth.type,
    ...(target.auth.type === 'agent' ? { agentSocket: target.auth.socket } : {}),
  };
}

/** Says which hop failed and where it was leading, keeping the hop's own code (HOST_KEY_CHANGED stays that). */
function onHop(err: AppError, hop: SshTarget, index: number, count: number, destination: string): AppError {
  return new AppError(err.code, `jump host ${hop.name} (hop ${index + 1} of ${count} on the way to ${destination}): ${err.message}`, {
    ...err.extra,
    details: { ...(err.extra.details ?? {}), jumpHost: hop.name, jumpHostId: hop.serverId, hop: index + 1 },
  });
}

/**
 * Opens a connection to each hop in turn and a channel from the last one to `destination`. A refused host key, a
 * refused login or an unreachable next hop rejects naming the hop; whatever was opened is closed again.
 */
export async function openHopChain(hops: SshTarget[], destination: { name: string; host: string; port: number }, options: HandshakeOptions): Promise<HopChain> {
  const clients: Client[] = [];
  const close = () => {
    for (const c of [...clients].reverse()) {
      c.on('error', () => undefined);
      c.end();
    }
  };
  let carrier: Duplex | undefined;
  try {
    for (let i = 0; i < hops.length; i++) {
      const hop = hops[i]!;
      let client: Client;
      try {
        ({ client } = await handshake(hop, carrier, options));
      } catch (err) {
        throw onHop(err instanceof AppError ? err : sshErrorToAppError(err, errorContext(hop)), hop, i, hops.length, destination.name);
      }
      clients.push(client);
      // Later failures of a hop surface as the destination's connection closing (SshConnection watches the hops).
      client.on('error', () => undefined);
      const next = hops[i + 1] ?? destination;
      try {
        carrier = await forwardOut(client, next.host, next.port, options);
      } catch (err) {
        const why = (err as Error).message;
        throw onHop(
          new AppError('HOST_UNREACHABLE', `it could not open a connection to ${next.name} (${next.host}:${next.port}): ${why}; check the address and that the jump host allows TCP forwarding (AllowTcpForwarding)`, {
            details: { host: next.host, port: next.port },
          }),
          hop, i, hops.length, destination.name,
        );
      }
    }
  } catch (err) {
    close();
    throw err;
  }
  return { stream: carrier as ClientChannel, clients, names: hops.map((h) => h.name), close };
}

function forwardOut(client: Client, host: string, port: number, options: HandshakeOptions): Promise<ClientChannel> {
  const clock = options.clock ?? systemClock;
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(`no answer within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      timer.cancel();
      if (err) reject(err);
      else resolve(stream);
    });
  });
}

/**
 * The packets ssh2 writes in one tick (NEWKEYS + SERVICE_REQUEST, a channel's requests, stdin + EOF) leave in one
 * writev instead of one write each: fewer syscalls and fewer wake-ups of the server per job (bench/fleet-bench.ts).
 * Nagle stays off: the batch leaves at the end of the tick, not after an ACK.
 */
function coalesceWrites(sock: net.Socket): void {
  const write = sock.write.bind(sock);
  let corked = false;
  const uncork = () => {
    corked = false;
    sock.uncork();
  };
  sock.write = ((...args: Parameters<typeof write>) => {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as typeof sock.write;
}

/**
 * Connects (over `carrier` when given, else a new TCP socket with Nagle off) and authenticates as `target`. The host
 * key is checked during key exchange, before any credential is sent: an unknown or changed key rejects with
 * HOST_KEY_UNTRUSTED / HOST_KEY_CHANGED. An agent credential is checked first (running, a socket, holding a key).
 */
export async function handshake(target: SshTarget, carrier: Duplex | undefined, options: HandshakeOptions): Promise<{ client: Client; sock: Duplex }> {
  const ctx = errorContext(target);
  const clock = options.clock ?? systemClock;
  if (target.auth.type === 'agent') await checkAgent(target.auth.socket, target.name, options.connectTimeoutMs, clock);
  const verifier = new HostKeyVerifier(target);
  // At most MAX_CONCURRENT_HANDSHAKES at once across the app; the connect timeout below starts with our turn.
  const release = await handshakeGate.acquire();
  let sock: Duplex;
  if (carrier) {
    sock = carrier;
  } else {
    const tcp = new net.Socket();
    // Nagle's algorithm adds ~40 ms to every small exchange (TOOLBOX: exec 44 ms vs 1.8 ms): off before any byte.
    tcp.setNoDelay(true);
    coalesceWrites(tcp);
    sock = tcp;
  }
  const client = new Client();

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      release();
      timer.cancel();
      client.removeAllListeners('ready');
      client.on('error', () => undefined);
      sock.destroy();
      client.end();
      reject(verifier.refusal() ?? sshErrorToAppError(err, ctx, options.connectTimeoutMs));
    };
    const timer = clock.setTimeout(
      () => fail(Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' })),
      options.connectTimeoutMs,
    );
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      release();
      timer.cancel();
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      resolve({ client, sock });
    });
    client.on('error', fail);
    client.on('close', () => fail(new Error('Connection lost before handshake')));

    const config: ConnectConfig = {
      sock: sock as ConnectConfig['sock'],
      username: target.username,
      hostVerifier: verifier.verify,
      // Our own timer bounds the whole connect; ssh2's keepalive counts only replies to its pings (TOOLBOX), so
      // liveness is ours too.
      readyTimeout: 0,
      keepaliveInterval: 0,
      tryKeyboard: false,
    };
    const auth = target.auth;
    if (auth.type === 'key') {
      // Parsed once and kept a short while (parsed-keys.ts), handed to ssh2 as the one publickey attempt. A key that
      // does not parse goes to ssh2 as text, which reports it as before (a wrong passphrase included).
      const parsed = parsedKeys.get(auth.privateKey, auth.passphrase);
      if (parsed) {
        config.authHandler = [{ type: 'publickey', username: target.username, key: parsed } as PublicKeyAuthMethod];
      } else {
        config.privateKey = auth.privateKey;
        if (auth.passphrase) config.passphrase = auth.passphrase;
        config.authHandler = ['publickey'];
      }
    } else if (auth.type === 'password') {
      config.password = auth.password;
      config.authHandler = ['password'];
    } else {
      config.agent = auth.socket;
      config.authHandler = ['agent'];
      // No connection-wide agentForward: forwarding is asked for per command (a job's script) by SshConnection.exec,
      // so probes, health checks and runner commands on this connection never expose the agent.
    }
    sock.once('error', fail);
    if (sock instanceof net.Socket) sock.connect({ host: target.host, port: target.port });
    try {
      client.connect(config);
      skipHostKeysProve(client);
      if (auth.type === 'key') signWithoutQuery(client);
    } catch (err) {
      fail(err);
    }
  });
}

/**
 * OpenSSH announces all its host keys after login (hostkeys-00@openssh.com) and ssh2 answers each announcement by
 * asking the server to prove them (one signature per key on the server, one verification each here, a round trip)
 * although nothing here uses the result: trust is the pinned fingerprint checked during key exchange. The
 * announcement is acknowledged as ssh2 does, without the proof. Left to ssh2 if its internals differ.
 */
function skipHostKeysProve(client: Client): void {
  const proto = (client as unknown as { _protocol?: { _handlers?: Record<string, unknown>; requestSuccess?: () => void } })._protocol;
  const handlers = proto?._handlers;
  const original = handlers?.GLOBAL_REQUEST;
  if (!handlers || typeof original !== 'function' || typeof proto.requestSuccess !== 'function') return;
  handlers.GLOBAL_REQUEST = (p: unknown, name: string, wantReply: boolean, data: unknown) => {
    if (name !== 'hostkeys-00@openssh.com') return original(p, name, wantReply, data);
    if (wantReply) proto.requestSuccess!();
  };
}

/** The hash each signature algorithm of a key signs with (ssh2's getKeyAlgos); other key types need none. */
const SIGNATURE_HASHES: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512', 'ssh-rsa': 'sha1' };

/**
 * ssh2 first asks whether the server would accept the key (an unsigned publickey request, answered PK_OK) and only
 * then sends the signed request: a round trip and a second authorized_keys lookup on the server per connection. With
 * the private key in hand (a key credential) the signed request is sent at once, as OpenSSH does for a loaded key;
 * a refused key gets the same USERAUTH_FAILURE either way. Left to ssh2 if its internals differ.
 */
function signWithoutQuery(client: Client): void {
  type Signer = { sign(data: Buffer, hash?: string): Buffer | Error; isPrivateKey(): boolean };
  type AuthPK = (username: string, key: unknown, keyAlgo?: string, cbSign?: (data: Buffer, cb: (signature: Buffer) => void) => void) => void;
  const proto = (client as unknown as { _protocol?: { authPK?: AuthPK } })._protocol;
  const original = proto?.authPK;
  if (!proto || typeof original !== 'function') return;
  proto.authPK = function (this: unknown, username, key, keyAlgo, cbSign) {
    const signer = key as Partial<Signer> | null;
    const canSign = typeof signer?.sign === 'function' && typeof signer.isPrivateKey === 'function' && signer.isPrivateKey();
    if (cbSign || typeof keyAlgo === 'function' || !canSign) return original.call(this, username, key, keyAlgo, cbSign);
    const hash = keyAlgo ? SIGNATURE_HASHES[keyAlgo] : undefined;
    return original.call(this, username, key, keyAlgo, (data, cb) => {
      const signature = signer.sign!(data, hash);
      if (signature instanceof Error) {
        // As ssh2 reports a failed signature: the handshake fails with it.
        client.emit('error', Object.assign(signature, { level: 'client-authentication' }));
        return;
      }
      cb(signature);
    });
  };
}

/**
 * The host key `destination` presents, read through its jump hosts (each hop verified and logged in as usual; the
 * destination itself is never authenticated). Without hops this is probeHostKey().
 */
export async function probeHostKeyVia(
  hops: SshTarget[],
  destination: { name: string; host: string; port: number },
  timeoutMs: number,
  clock: Clock = systemClock,
): Promise<HostKeyInfo> {
  if (hops.length === 0) return probeHostKey(destination.host, destination.port, timeoutMs, clock);
  const chain = await openHopChain(hops, destination, { connectTimeoutMs: timeoutMs, clock });
  try {
    return await probeHostKey(destination.host, destination.port, timeoutMs, clock, chain.stream);
  } finally {
    chain.close();
  }
}
