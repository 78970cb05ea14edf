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
import { probeHostKeyVia } from '../ssh/ssh-handshake';
import { defaultAgentSocket } from '../ssh/ssh-agent';
import { parsedKeys } from '../ssh/parsed-keys';
import type { SshPool } from '../ssh/ssh-pool';
import type { SshAuth, SshTarget } from '../ssh/types';
import { recordAudit } from '../audit-log';
import { workflowsUsing } from '../workflows/workflow-store';
import { ServerStore } from './server-store';
import { planSshConfigImport, type ImportOptions, type ImportPlan } from './ssh-config-import';
import type { NewRow, RowUpdate } from '../db/schema';
import type { ConnectionTestResult, ServerInput, ServerView, SshConfigPreview } from '../../../src-shared/contract/servers';

/** The contract's input; agentForwarding and jumpServerIds may be left out by internal callers (kept as they are on edit). */
export type ServerSaveInput = Omit<z.output<typeof ServerInput>, 'agentForwarding' | 'jumpServerIds'> &
  Partial<Pick<z.output<typeof ServerInput>, 'agentForwarding' | 'jumpServerIds'>>;

export interface ServerServiceDeps {
  db: AppDatabase;
  secrets: SecretStore;
  bus: EventBus;
  clock: Clock;
  /** The pool, resolved late: the pool itself is built with this service's resolveTarget. */
  ssh: () => Pick<SshPool, 'invalidate' | 'acquire' | 'exec'>;
  /** Reads a server's host key without authenticating (replaceable only to reach an edge a test cannot). */
  probe?: (host: string, port: number, timeoutMs: number) => Promise<HostKeyInfo>;
  /** Where 'agent' servers find the ssh-agent (default: SSH_AUTH_SOCK of the app's environment, read at each connect). */
  agentSocket?: () => string | undefined;
}

/** Bound on "Test connection" and trust probes. */
export const TEST_TIMEOUT_MS = 10_000;

/** What the keychain holds for a server: a key or a password ('agent' servers keep nothing there). */
type StoredCredential = Exclude<SshAuth, { type: 'agent' }>;

/** Jump hosts a server is reached through, at most: deeper chains are refused as a likely mistake. */
const MAX_HOPS = 8;

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

  /**
   * Creates or edits a server. `from: 'catalogue'` (a catalogue file's server) stores no credential (a file carries
   * none; the keychain account stays empty until the user enters one) and never turns agent forwarding on: only the
   * user does that, here in the app. Every other rule is the same: a pin is never taken from the input, a changed
   * address drops the pin, forwarding needs the agent credential, the audit records, the pooled connections dropped.
   */
  async save(input: ServerSaveInput, opts: { from?: 'catalogue' } = {}): Promise<ServerView> {
    const { db } = this.deps;
    const fromCatalogue = opts.from === 'catalogue';
    const existing = input.id ? await this.row(input.id) : undefined;
    const clash = await this.store.idByName(input.name);
    if (clash !== undefined && clash !== existing?.id) {
      throw new AppError('INVALID_INPUT', `a server named ${input.name} already exists; choose another name`, { fields: { name: 'this name is already used' } });
    }
    const id = existing?.id ?? newId();
    const requestedForwarding = input.agentForwarding ?? existing?.agent_forwarding === 1;
    const jumpServerIds = input.jumpServerIds ?? (existing ? parseIds(existing.jump_server_ids) : []);
    if (requestedForwarding && input.authType !== 'agent') {
      throw new AppError('INVALID_INPUT', 'agent forwarding needs the ssh-agent credential kind', { fields: { agentForwarding: 'only with the ssh-agent credential' } });
    }
    const agentForwarding = fromCatalogue ? requestedForwarding && existing?.agent_forwarding === 1 : requestedForwarding;
    await this.hopIds(id, input.name, jumpServerIds);
    const credential = fromCatalogue ? null : await this.credentialFor(input, existing);
    const at = nowIso(this.deps.clock.now());
    const ref = serverCredentialRef(id);
    const tags = JSON.stringify([...new Set(input.tags)]);

    if (credential) await this.deps.secrets.set(ref, JSON.stringify(credential));
    // No key parsed from a credential that is replaced (or gone) stays in memory (ssh/parsed-keys.ts).
    if (credential || existing) parsedKeys.clear();
    try {
      if (existing) {
        const endpointChanged = existing.host !== input.host || existing.port !== input.port;
        await this.store.update(id, {
            name: input.name, host: input.host, port: input.port, username: input.username, auth_type: input.authType,
            credential_ref: ref, tags, max_concurrent_jobs: input.maxConcurrentJobs, updated_at: at,
            agent_forwarding: agentForwarding ? 1 : 0, jump_server_ids: JSON.stringify(jumpServerIds),
            // A pinned key belongs to the address it was seen at: a new address must be trusted again.
            ...(endpointChanged ? { host_key_fingerprint: null, host_key_algorithm: null } : {}),
        });
        if (endpointChanged) {
          await recordAudit(db, {
            at: this.deps.clock.now(), actor: 'user', action: 'server.host_key_unpinned', subject: id,
            detail: { reason: 'address changed', host: input.host, port: input.port, ...(fromCatalogue ? { via: 'catalogue' } : {}) },
          });
        }
      } else {
        await this.store.insert({
            id, name: input.name, host: input.host, port: input.port, username: input.username, auth_type: input.authType,
            credential_ref: ref, host_key_fingerprint: null, host_key_algorithm: null, tags,
            max_concurrent_jobs: input.maxConcurrentJobs, last_connection_at: null, last_connection_ok: null,
            last_connection_message: null, last_latency_ms: null, created_at: at, updated_at: at,
            agent_forwarding: agentForwarding ? 1 : 0, jump_server_ids: JSON.stringify(jumpServerIds),
        });
      }
    } catch (err) {
      if (!existing && credential) await this.deps.secrets.delete(ref).catch(() => undefined);
      throw err;
    }
    await recordAudit(db, {
      at: this.deps.clock.now(), actor: 'user', action: existing ? 'server.update' : 'server.create', subject: id,
      detail: { name: input.name, host: input.host, port: input.port, username: input.username, ...(fromCatalogue ? { via: 'catalogue' } : {}) },
    });
    if (credential && existing) await recordAudit(db, { at: this.deps.clock.now(), actor: 'user', action: 'server.credential_replaced', subject: id, detail: { authType: input.authType } });
    if (input.authType === 'agent' && existing && existing.auth_type !== 'agent') {
      // The agent holds the keys now: the key or password stored before must not linger in the keychain.
      await this.deps.secrets.delete(existing.credential_ref).catch(() => undefined);
    }
    if ((existing?.agent_forwarding ?? 0) !== (agentForwarding ? 1 : 0)) {
      await recordAudit(db, { at: this.deps.clock.now(), actor: 'user', action: 'server.agent_forwarding', subject: id, detail: { enabled: agentForwarding } });
    }
    // Address, user, credential or hops may have changed: connections made with the old ones must not be reused.
    await this.invalidateWithDependents(id);
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
    const through = (await this.store.list()).filter((r) => r.id !== id && parseIds(r.jump_server_ids).includes(id));
    if (through.length > 0) {
      throw new AppError(
        'SERVER_IN_USE',
        `“${row.name}” is the jump host of ${through.map((r) => `“${r.name}”`).join(', ')}; choose another jump host for ${through.length > 1 ? 'them' : 'it'} first`,
        { details: { servers: through.map((r) => r.name) } },
      );
    }
    this.deps.ssh().invalidate(id);
    parsedKeys.clear();
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
    const hopIds = await this.hopIds(row.id, row.name, parseIds(row.jump_server_ids));
    const hops = await Promise.all(hopIds.map((hopId) => this.resolveOne(hopId)));
    const target = await this.resolveOne(row.id);
    return { ...target, ...(hops.length > 0 ? { hops } : {}) };
  };

  /** One server's address, credential and pin, without its hops. */
  private async resolveOne(serverId: string): Promise<SshTarget> {
    const row = await this.row(serverId);
    const base = {
      serverId: row.id, name: row.name, host: row.host, port: row.port, username: row.username,
      pinnedFingerprint: row.host_key_fingerprint,
    };
    if (row.auth_type === 'agent') {
      const socket = this.deps.agentSocket ? this.deps.agentSocket() : defaultAgentSocket();
      return { ...base, auth: { type: 'agent', socket }, agentForwarding: row.agent_forwarding === 1 };
    }
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
    return { ...base, auth };
  }

  /**
   * The full hop list of a server whose own jump hosts are `direct` (ProxyJump semantics: a hop that has jump hosts
   * of its own is reached through them first), nearest to the workstation first. Refuses (JUMP_HOST_INVALID) a
   * missing server, the server itself, a loop, or more than MAX_HOPS hops, naming the servers involved.
   */
  async hopIds(serverId: string, serverName: string, direct: string[]): Promise<string[]> {
    if (direct.length === 0) return []; // most servers: no jump hosts, nothing to read
    const rows = new Map((await this.store.list()).map((r) => [r.id, r]));
    const nameOf = (id: string) => (id === serverId ? serverName : rows.get(id)?.name ?? id);
    const out: string[] = [];
    const expand = (ids: string[], path: string[]) => {
      for (const hopId of ids) {
        if (hopId === serverId || path.includes(hopId)) {
          const loop = [...path, hopId].map(nameOf).join(' → ');
          throw new AppError('JUMP_HOST_INVALID', `the jump hosts of ${serverName} form a loop (${loop}); a server cannot be reached through itself`, {
            fields: { jumpServerIds: 'these jump hosts lead back to this server' }, details: { loop },
          });
        }
        const hop = rows.get(hopId);
        if (!hop) {
          throw new AppError('JUMP_HOST_INVALID', `a jump host of ${serverName} (${hopId}) no longer exists; choose another`, { fields: { jumpServerIds: 'a chosen jump host was deleted' } });
        }
        expand(parseIds(hop.jump_server_ids), [...path, hopId]);
        if (!out.includes(hopId)) out.push(hopId);
      }
    };
    expand(direct, [serverId]);
    if (out.length > MAX_HOPS) {
      throw new AppError('JUMP_HOST_INVALID', `${serverName} would be reached through ${out.length} jump hosts; at most ${MAX_HOPS} are allowed`, { fields: { jumpServerIds: `at most ${MAX_HOPS} hops` } });
    }
    return out;
  }

  /** The host key a server presents, read through its jump hosts when it has any (never authenticating to it). */
  private async presentedKey(row: Row<'servers'>): Promise<HostKeyInfo> {
    const hopIds = await this.hopIds(row.id, row.name, parseIds(row.jump_server_ids));
    if (hopIds.length === 0) return this.probe(row.host, row.port, TEST_TIMEOUT_MS);
    const hops = await Promise.all(hopIds.map((hopId) => this.resolveOne(hopId)));
    return probeHostKeyVia(hops, row, TEST_TIMEOUT_MS, this.deps.clock);
  }

  /** Drops pooled connections of the server and of every server that reaches it as a jump host. */
  private async invalidateWithDependents(id: string): Promise<void> {
    const pool = this.deps.ssh();
    pool.invalidate(id);
    for (const r of await this.store.list()) {
      if (parseIds(r.jump_server_ids).includes(id)) pool.invalidate(r.id);
    }
  }

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
      presented = await this.presentedKey(row);
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
    // First contact is a question to the user ("awaiting your approval"), not a failed connection: it is not recorded
    // as the last connection, so the server never shows a red "failed" for a key nobody has looked at yet.
    if (result!.status !== 'untrusted') {
      await this.store.update(id, { last_connection_at: nowIso(this.deps.clock.now()), last_connection_ok: ok ? 1 : 0, last_connection_message: result!.message, last_latency_ms: latencyMs });
    }
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
    const presented = await this.presentedKey(row);
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
    await this.invalidateWithDependents(id);
    const view = await this.get(id);
    this.deps.bus.emit('servers/changed', { server: view });
    return view;
  }

  /** Reads an OpenSSH config and known_hosts and says what an import would do; saves nothing. */
  async importPreview(opts: ImportOptions): Promise<SshConfigPreview> {
    return (await this.planImport(opts)).preview;
  }

  /**
   * Imports what importPreview() shows, read again now: refused while the preview has errors; keys go to the
   * keychain, the rows in one transaction (on failure the keychain is put back as it was), nothing half-imported.
   */
  async importApply(opts: ImportOptions): Promise<{ created: string[]; updated: string[] }> {
    const plan = await this.planImport(opts);
    const { errors } = plan.preview;
    if (errors.length > 0) {
      throw new AppError('SSH_CONFIG_INVALID', `nothing was imported: ${errors.length} problem${errors.length > 1 ? 's' : ''} in the SSH config — ${errors.slice(0, 3).map((e) => e.message).join('; ')}${errors.length > 3 ? '; …' : ''}`, {
        details: { errors },
      });
    }
    const chosen = plan.entries.filter((e) => !e.preview.excluded && e.preview.action !== 'unchanged');
    const ids = new Map<string, string>();
    for (const e of plan.entries) ids.set(e.preview.alias, e.existingId ?? (await this.store.idByName(e.preview.alias)) ?? newId());
    const at = nowIso(this.deps.clock.now());
    const inserts: Array<NewRow<'servers'>> = [];
    const updates: Array<{ id: string; set: RowUpdate<'servers'> }> = [];
    const written: Array<{ ref: string; previous: string | null; created: boolean }> = [];
    try {
      for (const e of chosen) {
        const p = e.preview;
        const id = ids.get(p.alias)!;
        const ref = serverCredentialRef(id);
        if (e.privateKey !== null) {
          const previous = e.existingId ? await this.deps.secrets.get(ref) : null;
          await this.deps.secrets.set(ref, JSON.stringify({ type: 'key', privateKey: e.privateKey } satisfies StoredCredential));
          written.push({ ref, previous, created: e.existingId === null });
        }
        const common = {
          host: p.host, port: p.port, username: p.username, auth_type: p.authType, credential_ref: ref,
          jump_server_ids: JSON.stringify(p.jumpHosts.map((alias) => ids.get(alias)!)), updated_at: at,
          ...(e.pin ? { host_key_fingerprint: e.pin.fingerprint, host_key_algorithm: e.pin.algorithm } : {}),
          ...(e.unpin ? { host_key_fingerprint: null, host_key_algorithm: null } : {}),
        };
        if (e.existingId) {
          // Forwarding belongs to agent servers only; an agent server keeps the choice the user made.
          updates.push({ id, set: { ...common, ...(p.authType !== 'agent' ? { agent_forwarding: 0 } : {}) } });
        } else {
          inserts.push({
            id, name: p.alias, ...common, host_key_fingerprint: e.pin?.fingerprint ?? null, host_key_algorithm: e.pin?.algorithm ?? null,
            tags: JSON.stringify(['ssh-config']), max_concurrent_jobs: 4, last_connection_at: null, last_connection_ok: null,
            last_connection_message: null, last_latency_ms: null, created_at: at, agent_forwarding: 0,
          });
        }
      }
      await this.store.saveMany(inserts, updates);
    } catch (err) {
      for (const w of written.reverse()) {
        if (w.previous !== null) await this.deps.secrets.set(w.ref, w.previous).catch(() => undefined);
        else if (w.created) await this.deps.secrets.delete(w.ref).catch(() => undefined);
      }
      throw err;
    }
    for (const e of chosen) {
      // A server that now uses the agent must not leave its former key or password in the keychain.
      if (e.existingId && e.preview.authType === 'agent') await this.deps.secrets.delete(serverCredentialRef(e.existingId)).catch(() => undefined);
    }
    const created = chosen.filter((e) => !e.existingId).map((e) => e.preview.alias);
    const updated = chosen.filter((e) => e.existingId).map((e) => e.preview.alias);
    await recordAudit(this.deps.db, {
      at: this.deps.clock.now(), actor: 'user', action: 'server.import_ssh_config', subject: null,
      detail: { config: plan.preview.configPath, created, updated, pinned: chosen.filter((e) => e.pin).map((e) => ({ server: e.preview.alias, fingerprint: e.pin!.fingerprint })) },
    });
    // Keys the import replaced (or an agent server no longer uses) leave memory too (ssh/parsed-keys.ts).
    if (chosen.length > 0) parsedKeys.clear();
    for (const e of chosen) {
      const id = ids.get(e.preview.alias)!;
      await this.invalidateWithDependents(id);
      this.deps.bus.emit('servers/changed', { server: await this.get(id) });
    }
    return { created, updated };
  }

  private async planImport(opts: ImportOptions): Promise<ImportPlan> {
    const rows = await this.store.list();
    return planSshConfigImport(
      opts,
      rows.map((r) => ({
        id: r.id, name: r.name, host: r.host, port: r.port, username: r.username, authType: r.auth_type,
        pinnedFingerprint: r.host_key_fingerprint, jumpServerIds: parseIds(r.jump_server_ids),
      })),
    );
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
    if (input.authType === 'agent') return null;
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
    let hasCredential = r.auth_type === 'agent';
    if (!hasCredential) {
      try {
        hasCredential = (await this.deps.secrets.get(r.credential_ref)) !== null;
      } catch {
        hasCredential = false;
      }
    }
    const jumpIds = parseIds(r.jump_server_ids);
    const jumpHosts = await Promise.all(jumpIds.map(async (jid) => ({ id: jid, name: (await this.store.find(jid))?.name ?? jid })));
    return {
      id: r.id, name: r.name, host: r.host, port: r.port, username: r.username, authType: r.auth_type, hasCredential,
      agentForwarding: r.agent_forwarding === 1, jumpHosts,
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

/** A JSON array of server ids (jump hosts); anything else reads as none. */
function parseIds(text: string): string[] {
  return parseTags(text);
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
