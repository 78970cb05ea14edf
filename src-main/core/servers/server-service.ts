/**
 * ServerService: the catalogue of servers (CRUD over `servers`), their credentials and host-key trust, and the
 * SshTargetResolver the one SshPool connects with. A credential goes only to the SecretStore (the row keeps its
 * reference); no view, log line or audit entry ever carries it. A host key is pinned only by trustHostKey(), with the
 * fingerprint the user saw, and only if the server still presents exactly that key.
 */
import { performance } from 'node:perf_hooks';
import { utils as ssh2Utils } from 'ssh2';
import type { z } from 'zod';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import type { Row } from '../db/schema';
import type { EventBus } from '../event-bus';
import type { Clock } from '../clock';
import { AppError, isAppError } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { serverCredentialRef } from '../secrets/secret-refs';
import { hostKeyChanged } from '../ssh/errors';
import { probeHostKey, sameFingerprint, type HostKeyInfo } from '../ssh/host-key';
import type { SshPool } from '../ssh/ssh-pool';
import type { SshAuth, SshTarget } from '../ssh/types';
import { recordAudit } from '../audit-log';
import { workflowsUsing } from '../workflows/workflow-store';
import { ServerStore } from './server-store';
import type { ConnectionTestResult, ServerInput, ServerView } from '../../../src-shared/contract/servers';

export type ServerSaveInput = z.output<typeof ServerInput>;

export interface ServerServiceDeps {
  db: AppDatabase;
  secrets: SecretStore;
  bus: EventBus;
  clock: Clock;
  /** The pool, resolved late: the pool itself is built with this service's resolveTarget. */
  ssh: () => SshPool;
  /** Reads a server's host key without authenticating (replaceable only to reach an edge a test cannot). */
  probe?: (host: string, port: number, timeoutMs: number) => Promise<HostKeyInfo>;
}

/** Bound on "Test connection" and trust probes. */
export const TEST_TIMEOUT_MS = 10_000;

type StoredCredential = SshAuth;

export class ServerService {
  readonly store: ServerStore;
  private readonly probe: (host: string, port: number, timeoutMs: number) => Promise<HostKeyInfo>;

  constructor(private readonly deps: ServerServiceDeps) {
    this.store = new ServerStore(deps.db);
    this.probe = deps.probe ?? ((host, port, timeoutMs) => probeHostKey(host, port, timeoutMs, deps.clock));
  }

  async list(filter: { tag?: string } = {}): Promise<ServerView[]> {
    const rows = await this.store.list();
    const views = await Promise.all(rows.map((r) => this.toView(r)));
    return filter.tag ? views.filter((v) => v.tags.includes(filter.tag!)) : views;
  }

  async get(id: string): Promise<ServerView> {
    return this.toView(await this.row(id));
  }

  async save(input: ServerSaveInput): Promise<ServerView> {
    const { db } = this.deps;
    const existing = input.id ? await this.row(input.id) : undefined;
    const clash = await this.store.idByName(input.name);
    if (clash !== undefined && clash !== existing?.id) {
      throw new AppError('INVALID_INPUT', `a server named ${input.name} already exists; choose another name`, { fields: { name: 'this name is already used' } });
    }
    const id = existing?.id ?? newId();
    const credential = await this.credentialFor(input, existing);
    const at = nowIso(this.deps.clock.now());
    const ref = serverCredentialRef(id);
    const tags = JSON.stringify([...new Set(input.tags)]);

    if (credential) await this.deps.secrets.set(ref, JSON.stringify(credential));
    try {
      if (existing) {
        const endpointChanged = existing.host !== input.host || existing.port !== input.port;
        await this.store.update(id, {
            name: input.name, host: input.host, port: input.port, username: input.username, auth_type: input.authType,
            credential_ref: ref, tags, max_concurrent_jobs: input.maxConcurrentJobs, updated_at: at,
            // A pinned key belongs to the address it was seen at: a new address must be trusted again.
            ...(endpointChanged ? { host_key_fingerprint: null, host_key_algorithm: null } : {}),
        });
        if (endpointChanged) {
          await recordAudit(db, { at: this.deps.clock.now(), actor: 'user', action: 'server.host_key_unpinned', subject: id, detail: { reason: 'address changed', host: input.host, port: input.port } });
        }
      } else {
        await this.store.insert({
            id, name: input.name, host: input.host, port: input.port, username: input.username, auth_type: input.authType,
            credential_ref: ref, host_key_fingerprint: null, host_key_algorithm: null, tags,
            max_concurrent_jobs: input.maxConcurrentJobs, last_connection_at: null, last_connection_ok: null,
            last_connection_message: null, last_latency_ms: null, created_at: at, updated_at: at,
        });
      }
    } catch (err) {
      if (!existing && credential) await this.deps.secrets.delete(ref).catch(() => undefined);
      throw err;
    }
    if (credential && existing) await recordAudit(db, { at: this.deps.clock.now(), actor: 'user', action: 'server.credential_replaced', subject: id, detail: { authType: input.authType } });
    // Address, user or credential may have changed: connections made with the old ones must not be reused.
    this.deps.ssh().invalidate(id);
    const view = await this.get(id);
    this.deps.bus.emit('servers/changed', { server: view });
    return view;
  }

  /** Refused (SERVER_IN_USE) while a workflow step runs on the server: the step would be left without a target. */
  async delete(id: string): Promise<void> {
    const row = await this.row(id);
    const users = await workflowsUsing(this.deps.db, { serverId: id });
    if (users.length > 0) {
      throw new AppError(
        'SERVER_IN_USE',
        `“${row.name}” runs steps of workflow${users.length > 1 ? 's' : ''} ${users.map((u) => `“${u}”`).join(', ')}; move those steps to another server first`,
        { details: { workflows: users } },
      );
    }
    this.deps.ssh().invalidate(id);
    await this.store.delete(id);
    await this.deps.secrets.delete(row.credential_ref).catch((err) => {
      console.error(`[servers] the credential of ${row.name} could not be removed from the keychain:`, isAppError(err) ? err.message : err);
    });
    await recordAudit(this.deps.db, { at: this.deps.clock.now(), actor: 'user', action: 'server.delete', subject: id, detail: { name: row.name } });
    this.deps.bus.emit('servers/changed', { server: null, deletedId: id });
  }

  /** The SshTargetResolver: the server's address and its credential, read from the keychain at this moment. */
  resolveTarget = async (serverId: string): Promise<SshTarget> => {
    const row = await this.row(serverId);
    const raw = await this.deps.secrets.get(row.credential_ref);
    if (!raw) {
      throw new AppError('CREDENTIAL_MISSING', `no credential for ${row.name} is stored in the keychain (${this.deps.secrets.description}); edit the server and enter its key or password again`);
    }
    let auth: StoredCredential;
    try {
      auth = JSON.parse(raw) as StoredCredential;
    } catch {
      throw new AppError('CREDENTIAL_MISSING', `the stored credential for ${row.name} cannot be read; edit the server and enter its key or password again`);
    }
    return {
      serverId: row.id, name: row.name, host: row.host, port: row.port, username: row.username, auth,
      pinnedFingerprint: row.host_key_fingerprint,
    };
  };

  /**
   * "Test connection": shows the host key on first contact, refuses a changed one before any credential is sent, and
   * otherwise logs in and runs `true`. Records the outcome on the server and in the audit log.
   */
  async test(id: string): Promise<ConnectionTestResult> {
    const row = await this.row(id);
    let result: ConnectionTestResult;
    let latencyMs: number | null = null;
    let presented: HostKeyInfo | undefined;
    try {
      presented = await this.probe(row.host, row.port, TEST_TIMEOUT_MS);
    } catch (err) {
      result = errorResult(err);
    }
    if (presented) {
      if (!row.host_key_fingerprint) {
        result = {
          status: 'untrusted', fingerprint: presented.fingerprint, algorithm: presented.algorithm,
          message: `first contact with ${row.name}: it presents the ${presented.algorithm} key ${presented.fingerprint}. Compare it with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and trust it to connect.`,
        };
      } else if (!sameFingerprint(row.host_key_fingerprint, presented.fingerprint)) {
        result = {
          status: 'changed', expected: row.host_key_fingerprint, actual: presented.fingerprint,
          message: hostKeyChanged(row, row.host_key_fingerprint, presented).message,
        };
      } else {
        try {
          const pool = this.deps.ssh();
          await pool.acquire(id);
          const started = performance.now();
          const exec = await pool.exec(id, 'true', { timeoutMs: TEST_TIMEOUT_MS });
          latencyMs = Math.round((performance.now() - started) * 10) / 10;
          result =
            exec.code === 0
              ? { status: 'ok', latencyMs, fingerprint: presented.fingerprint, message: `connected to ${row.name} as ${row.username}; a command took ${latencyMs} ms` }
              : { status: 'error', code: 'EXEC_FAILED', message: `logged in to ${row.name}, but \`true\` exited with ${exec.code ?? exec.signal}; check the user's login shell` };
        } catch (err) {
          result = errorResult(err);
        }
      }
    }
    const ok = result!.status === 'ok';
    await this.store.update(id, { last_connection_at: nowIso(this.deps.clock.now()), last_connection_ok: ok ? 1 : 0, last_connection_message: result!.message, last_latency_ms: latencyMs });
    await recordAudit(this.deps.db, {
      at: this.deps.clock.now(), actor: 'user', action: 'server.test', subject: id,
      detail: { status: result!.status, ...(presented ? { fingerprint: presented.fingerprint } : {}), ...(result!.status === 'error' ? { code: result!.code } : {}) },
    });
    this.deps.bus.emit('servers/changed', { server: await this.get(id) });
    return result!;
  }

  /**
   * Pins the host key the user approved. The server must present exactly `fingerprint` now (else the key changed
   * again since the user looked); replacing a different pinned key needs `replace`. Drops pooled connections.
   */
  async trustHostKey(id: string, fingerprint: string, replace: boolean): Promise<ServerView> {
    const row = await this.row(id);
    if (row.host_key_fingerprint && !sameFingerprint(row.host_key_fingerprint, fingerprint) && !replace) {
      throw new AppError(
        'HOST_KEY_REPLACE_REQUIRED',
        `${row.name} already has the pinned key ${row.host_key_fingerprint}; replacing it with ${fingerprint} needs the explicit re-trust action`,
        { details: { pinned: row.host_key_fingerprint, fingerprint } },
      );
    }
    const presented = await this.probe(row.host, row.port, TEST_TIMEOUT_MS);
    if (!sameFingerprint(presented.fingerprint, fingerprint)) {
      throw new AppError(
        'HOST_KEY_MISMATCH',
        `${row.name} now presents ${presented.fingerprint}, not the ${fingerprint} you approved; the key changed again, so nothing was trusted. Test the connection again and compare.`,
        { details: { approved: fingerprint, presented: presented.fingerprint } },
      );
    }
    await this.store.update(id, { host_key_fingerprint: presented.fingerprint, host_key_algorithm: presented.algorithm, updated_at: nowIso(this.deps.clock.now()) });
    await recordAudit(this.deps.db, {
      at: this.deps.clock.now(), actor: 'user', action: row.host_key_fingerprint ? 'server.replace_host_key' : 'server.trust_host_key', subject: id,
      detail: { fingerprint: presented.fingerprint, algorithm: presented.algorithm, previous: row.host_key_fingerprint },
    });
    this.deps.ssh().invalidate(id);
    const view = await this.get(id);
    this.deps.bus.emit('servers/changed', { server: view });
    return view;
  }

  /** The raw row (for other services: jobs read max_concurrent_jobs and names). */
  async row(id: string): Promise<Row<'servers'>> {
    const row = await this.store.find(id);
    if (!row) throw new AppError('SERVER_NOT_FOUND', `there is no server ${id}; it may have been deleted`);
    return row;
  }

  /** Validates a new credential, or returns null to keep the stored one (edits without a new secret). */
  private async credentialFor(input: ServerSaveInput, existing: Row<'servers'> | undefined): Promise<StoredCredential | null> {
    const switching = existing !== undefined && existing.auth_type !== input.authType;
    if (input.authType === 'password') {
      if (input.password) return { type: 'password', password: input.password };
      if (!existing || switching) throw new AppError('INVALID_INPUT', 'enter the password for this server', { fields: { password: 'enter the password' } });
      return null;
    }
    let key = input.privateKey;
    if (!key && input.passphrase !== undefined && existing && !switching) {
      // A new passphrase for the stored key.
      const stored = await this.deps.secrets.get(existing.credential_ref);
      const parsed = stored ? (JSON.parse(stored) as StoredCredential) : null;
      if (parsed?.type === 'key') key = parsed.privateKey;
    }
    if (!key) {
      if (!existing || switching) throw new AppError('INVALID_INPUT', 'paste the private key (or pick its file) for this server', { fields: { privateKey: 'paste a private key' } });
      return null;
    }
    checkPrivateKey(key, input.passphrase);
    return input.passphrase ? { type: 'key', privateKey: key, passphrase: input.passphrase } : { type: 'key', privateKey: key };
  }

  private async toView(r: Row<'servers'>): Promise<ServerView> {
    let hasCredential = false;
    try {
      hasCredential = (await this.deps.secrets.get(r.credential_ref)) !== null;
    } catch {
      hasCredential = false;
    }
    return {
      id: r.id, name: r.name, host: r.host, port: r.port, username: r.username, authType: r.auth_type, hasCredential,
      hostKeyFingerprint: r.host_key_fingerprint, tags: parseTags(r.tags), maxConcurrentJobs: r.max_concurrent_jobs,
      lastConnection: r.last_connection_at
        ? { at: r.last_connection_at, ok: r.last_connection_ok === 1, message: r.last_connection_message, latencyMs: r.last_latency_ms }
        : null,
      createdAt: r.created_at, updatedAt: r.updated_at,
    };
  }
}

/** Refuses key text ssh2 cannot use, with the reason at the field the user must fix. */
export function checkPrivateKey(key: string, passphrase: string | undefined): void {
  const parsed = ssh2Utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    const msg = parsed.message;
    if (/encrypted|passphrase|bad decrypt|integrity check/i.test(msg)) {
      const field = passphrase ? 'the passphrase does not open this key' : 'this key is encrypted: enter its passphrase';
      throw new AppError('KEY_INVALID', `the private key could not be opened: ${field}`, { fields: { passphrase: field } });
    }
    throw new AppError('KEY_INVALID', `the private key could not be read (${msg}); paste the whole key in OpenSSH or PEM format`, {
      fields: { privateKey: 'not a private key this app can read (OpenSSH or PEM)' },
    });
  }
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!first || !first.isPrivateKey()) {
    throw new AppError('KEY_INVALID', 'this is a public key; paste the private key (the file without .pub)', { fields: { privateKey: 'this is a public key' } });
  }
}

function parseTags(text: string): string[] {
  try {
    const tags = JSON.parse(text) as unknown;
    return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

function errorResult(err: unknown): ConnectionTestResult {
  if (isAppError(err)) return { status: 'error', code: err.code, message: err.message };
  return { status: 'error', code: 'INTERNAL', message: `the connection test failed unexpectedly: ${(err as Error)?.message ?? String(err)}` };
}
