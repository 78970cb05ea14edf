/**
 * PayloadService: execution payloads. Builds one from an event version (a deterministic tar.gz: manifest.json, the
 * script, the helper shims; fixed mtimes, modes and order, so its sha256 is a content key), signs it with this
 * installation's payload key (ed25519, private half in the keychain), registers it in execution_payloads (reused
 * while the event version and the run's limits are unchanged), uploads it to ~/.cronium/payloads/<checksum>/ only
 * when the server lacks it (a runner job learns that in its start exec: presenceCheck), and removes payloads unused
 * for RUNNER_CACHE_TTL_DAYS locally and on servers.
 *
 * Why a per-installation key and not the runner release key: the release private key never sits on a workstation;
 * the runner learns the payload public key from the job's start file (written from the exec's stdin, 0600), so a
 * payload altered on the server, or signed by anyone else, is refused before it runs.
 * It never puts a secret value in a payload (secrets travel over the job's authenticated socket only).
 *
 * Concurrency: jobs of a new event starting on many servers at once build the payload once (single flight per event
 * content), register it with one upsert that returns the stored row's id (PayloadStore), and upload it once per
 * (server, payload) (single flight), so every job references a payload row that exists.
 */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tar from 'tar';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import type { Row } from '../db/schema';
import { every, type Clock } from '../clock';
import { AppError } from '../errors';
import type { Metrics } from '../metrics/metrics';
import type { SecretStore } from '../secrets/secret-store';
import { PAYLOAD_SIGNING_KEY_REF } from '../secrets/secret-refs';
import type { SettingsService } from '../settings/settings-service';
import type { SshPool } from '../ssh/ssh-pool';
import { generateSigningKeyPair, keyIdOf } from '../runners/artifact-signing';
import { SingleFlight } from '../execution/single-flight';
import { PayloadStore } from './payload-store';
import type { ExecutionEvent } from '../jobs/executor';
import {
  PAYLOAD_ARCHIVE_FILE,
  PAYLOAD_FORMAT_VERSION,
  PAYLOAD_LAST_USED_FILE,
  PAYLOAD_MANIFEST_FILE,
  PAYLOAD_SIGNATURE_FILE,
  type PayloadInterpreter,
  type PayloadManifest,
  type PayloadSignature,
  payloadSignedString,
} from '../../../src-shared/protocol/runner-wire';
import { BASH_SHIM, BASH_SHIM_FILE, NODE_SHIM, NODE_SHIM_FILE, PYTHON_SHIM, PYTHON_SHIM_FILE } from './helper-shims';

/** Where payloads live on a server, relative to the login's home (SFTP starts there). */
export const REMOTE_PAYLOADS_DIR = '.cronium/payloads';
/** The exit code of presenceCheck() when the payload is not (completely) on the server: nothing was started. */
export const PAYLOAD_MISSING_EXIT_CODE = 96;
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

export interface Payload {
  id: string;
  eventId: string;
  eventVersion: number;
  checksum: string;
  /** The archive on this workstation. */
  path: string;
  sizeBytes: number;
  signature: PayloadSignature;
  createdAt: string;
}

export interface PayloadServiceDeps {
  db: AppDatabase;
  secrets: SecretStore;
  settings: SettingsService;
  metrics: Metrics;
  ssh: SshPool;
  clock: Clock;
  /** <dataDir>/payloads */
  dir: string;
}

const INTERPRETER: Record<ExecutionEvent['scriptType'], { interpreter: PayloadInterpreter; entry: string }> = {
  bash: { interpreter: 'bash', entry: 'script.sh' },
  python: { interpreter: 'python3', entry: 'script.py' },
  node: { interpreter: 'node', entry: 'script.js' },
};

export class PayloadService {
  private key: Promise<{ privateKey: KeyObject; publicKeyPem: string; keyId: string }> | undefined;
  /** Uploads done by this process, per server (diagnostics and tests). */
  readonly uploads = new Map<string, number>();
  private cleanupTimer: { cancel(): void } | undefined;
  private cleanupInterval: { cancel(): void } | undefined;
  /** Set by stopCleanup(): a sweep in progress stops before its next server. */
  private cleanupStopped = false;
  private readonly store: PayloadStore;
  private readonly building = new SingleFlight<Payload>();
  private readonly placing = new SingleFlight<{ uploaded: boolean }>();

  constructor(private readonly deps: PayloadServiceDeps) {
    this.store = new PayloadStore(deps.db, () => deps.clock.now());
  }

  /** The PEM the runner verifies payload signatures with. */
  async publicKeyPem(): Promise<string> {
    return (await this.signingKey()).publicKeyPem;
  }

  /** Signs another text the runner verifies with the payload key (the resident runner's schedule manifest). */
  async signText(text: string): Promise<{ signature: string; keyId: string }> {
    const key = await this.signingKey();
    return { signature: sign(null, Buffer.from(text), key.privateKey).toString('base64'), keyId: key.keyId };
  }

  /** The payload for this event version and these limits: the registered one when its content is unchanged. */
  generatePayload(event: ExecutionEvent): Promise<Payload> {
    // Same event content -> same archive: concurrent callers share one build and one registration.
    const key = createHash('sha256')
      .update(JSON.stringify([event.id, event.version, event.name, event.scriptType, event.content, sortedRecord(event.env), event.timeoutSeconds]))
      .digest('hex');
    return this.building.run(key, () => this.generateNow(event));
  }

  private async generateNow(event: ExecutionEvent): Promise<Payload> {
    const started = performance.now();
    const { archive, checksum } = await this.build(event);
    this.deps.metrics.runnerPayloadGenerationDuration.observe((performance.now() - started) / 1000);
    const max = this.deps.settings.current().runner.maxPayloadBytes;
    if (archive.length > max) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `the payload for ${event.name} is ${archive.length} bytes, above the ${max}-byte limit (runner.maxPayloadBytes); shorten the script or raise the limit in Settings`,
        { details: { sizeBytes: archive.length, maxPayloadBytes: max } },
      );
    }
    const folder = path.join(this.deps.dir, checksum);
    const archivePath = path.join(folder, PAYLOAD_ARCHIVE_FILE);
    if (!fs.existsSync(archivePath) || !fs.existsSync(path.join(folder, PAYLOAD_SIGNATURE_FILE))) {
      const signature = await this.signatureFor(checksum);
      fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(archivePath + '.tmp', archive);
      fs.renameSync(archivePath + '.tmp', archivePath);
      fs.writeFileSync(path.join(folder, PAYLOAD_SIGNATURE_FILE), JSON.stringify(signature));
    }
    const payload: Payload = {
      id: newId(),
      eventId: event.id,
      eventVersion: event.version,
      checksum,
      path: archivePath,
      sizeBytes: archive.length,
      signature: JSON.parse(fs.readFileSync(path.join(folder, PAYLOAD_SIGNATURE_FILE), 'utf8')) as PayloadSignature,
      createdAt: nowIso(this.deps.clock.now()),
    };
    return this.cachePayload(payload);
  }

  /**
   * Registers the payload (or marks the registered one used now) and returns it with the stored row's id and creation
   * time: a payload registered before (or by a concurrent caller) keeps its id.
   */
  async cachePayload(payload: Payload): Promise<Payload> {
    const row = await this.store.register({ ...payload, usedAt: nowIso(this.deps.clock.now()) });
    return { ...payload, id: row.id, createdAt: row.created_at };
  }

  /** The newest registered payload of that event version whose archive is still here, or null. */
  async getPayload(eventId: string, version: number): Promise<Payload | null> {
    const rows = await this.store.ofEventVersion(eventId, version);
    for (const row of rows) {
      const p = this.fromRow(row);
      if (p) return p;
    }
    return null;
  }

  async getById(id: string): Promise<Payload | null> {
    const row = await this.store.byId(id);
    return row ? this.fromRow(row) : null;
  }

  /**
   * Puts the payload in ~/.cronium/payloads/<checksum>/ on the server unless it is already there (same size, signature
   * present), and marks it used there. Returns whether bytes were sent.
   */
  ensureOnServer(serverId: string, payload: Payload): Promise<{ uploaded: boolean }> {
    // One upload per (server, payload) at a time: concurrent jobs on one server wait for it rather than write it twice.
    return this.placing.run(`${serverId}\u0000${payload.checksum}`, () => this.placeNow(serverId, payload));
  }

  /**
   * Shell for the start exec (no SFTP round trips for a payload already there): exits PAYLOAD_MISSING_EXIT_CODE unless
   * the archive (of this size) and its signature are in place, else marks the payload used. The caller then places it
   * (ensureOnServer) and runs the exec again. The runner checks the archive's sha256 and signature before anything
   * of it runs, so this only tells present from missing or half uploaded. Runs under `umask 077`.
   */
  presenceCheck(payload: Payload): string {
    if (!/^[0-9a-f]{64}$/.test(payload.checksum)) throw new AppError('INTERNAL', `payload ${payload.id} has no sha256 checksum; build it again`);
    const dir = `"$HOME/${REMOTE_PAYLOADS_DIR}/${payload.checksum}"`;
    return (
      `p=${dir}; s=$(2>/dev/null wc -c < "$p/${PAYLOAD_ARCHIVE_FILE}") && [ -f "$p/${PAYLOAD_SIGNATURE_FILE}" ] && [ $s -eq ${payload.sizeBytes} ] 2>/dev/null ` +
      `|| exit ${PAYLOAD_MISSING_EXIT_CODE}; printf '%s' '${nowIso(this.deps.clock.now())}' > "$p/${PAYLOAD_LAST_USED_FILE}"; `
    );
  }

  private async placeNow(serverId: string, payload: Payload): Promise<{ uploaded: boolean }> {
    const conn = await this.deps.ssh.acquire(serverId);
    const dir = `${REMOTE_PAYLOADS_DIR}/${payload.checksum}`;
    const [archive, sig] = await Promise.all([conn.stat(`${dir}/${PAYLOAD_ARCHIVE_FILE}`), conn.stat(`${dir}/${PAYLOAD_SIGNATURE_FILE}`)]);
    let uploaded = false;
    if (!archive || archive.size !== payload.sizeBytes || !sig) {
      await conn.mkdirp(dir, 0o700);
      // The archive first, the signature last: a payload without its signature file is an unfinished upload.
      await conn.uploadFile(payload.path, `${dir}/${PAYLOAD_ARCHIVE_FILE}`, 0o600);
      await conn.uploadFile(Buffer.from(JSON.stringify(payload.signature)), `${dir}/${PAYLOAD_SIGNATURE_FILE}`, 0o600);
      uploaded = true;
      this.uploads.set(serverId, (this.uploads.get(serverId) ?? 0) + 1);
    }
    await conn.uploadFile(Buffer.from(nowIso(this.deps.clock.now())), `${dir}/${PAYLOAD_LAST_USED_FILE}`, 0o600);
    return { uploaded };
  }

  /**
   * Removes payloads unused for ttlDays: rows and archives here, and (best effort, for the servers given) the
   * payload folders on servers whose last-used mark is older. Returns how many local payloads were removed.
   */
  async cleanupOldPayloads(ttlDays: number, opts: { serverIds?: string[] } = {}): Promise<number> {
    const cutoff = nowIso(this.deps.clock.now() - ttlDays * 86400_000);
    const old = await this.store.unusedSince(cutoff);
    for (const row of old) {
      await this.store.remove(row.id);
      if (!(await this.store.checksumInUse(row.checksum))) fs.rmSync(path.join(this.deps.dir, row.checksum), { recursive: true, force: true });
    }
    for (const serverId of opts.serverIds ?? []) {
      if (this.cleanupStopped) break; // the app is closing: the other servers are swept next time
      const days = Math.max(0, Math.floor(ttlDays) - 1);
      await this.deps.ssh
        .exec(serverId, `find "$HOME/${REMOTE_PAYLOADS_DIR}" -mindepth 2 -maxdepth 2 -name ${PAYLOAD_LAST_USED_FILE} -mtime +${days} 2>/dev/null | while read -r f; do rm -rf "$(dirname "$f")"; done; true`, { timeoutMs: 30_000 })
        .catch((err) => console.warn(`[payloads] cleanup on server ${serverId} failed: ${(err as Error).message}`));
    }
    return old.length;
  }

  /**
   * Runs cleanupOldPayloads(settings.runner.cacheTtlDays) a minute after start and then every `everyMs`, on this
   * workstation and on the servers `servers()` lists (best effort: an unreachable server is tried next time).
   */
  startCleanup(servers: () => Promise<string[]>, everyMs = 6 * 3600_000): void {
    this.stopCleanup();
    this.cleanupStopped = false;
    const run = async () => {
      try {
        await this.cleanupOldPayloads(this.deps.settings.current().runner.cacheTtlDays, { serverIds: await servers() });
      } catch (err) {
        console.warn(`[payloads] cleanup failed: ${(err as Error).message}`);
      }
    };
    this.cleanupTimer = this.deps.clock.setTimeout(() => void run(), 60_000);
    this.cleanupInterval = every(this.deps.clock, everyMs, () => void run());
  }

  stopCleanup(): void {
    this.cleanupStopped = true;
    this.cleanupTimer?.cancel();
    this.cleanupInterval?.cancel();
  }

  // ---- building ---------------------------------------------------------------------------------------------------

  private async build(event: ExecutionEvent): Promise<{ archive: Buffer; checksum: string }> {
    const kind = INTERPRETER[event.scriptType];
    const manifest: PayloadManifest = {
      formatVersion: PAYLOAD_FORMAT_VERSION,
      interpreter: kind.interpreter,
      entry: kind.entry,
      env: sortedRecord(event.env),
      timeoutSeconds: event.timeoutSeconds,
      job: { eventId: event.id, eventName: event.name, eventVersion: event.version },
      helpers: { bash: BASH_SHIM_FILE, python: PYTHON_SHIM_FILE, node: NODE_SHIM_FILE },
    };
    const files: Record<string, string> = {
      [PAYLOAD_MANIFEST_FILE]: JSON.stringify(manifest, null, 2) + '\n',
      [kind.entry]: event.content,
      [BASH_SHIM_FILE]: BASH_SHIM,
      [PYTHON_SHIM_FILE]: PYTHON_SHIM,
      [NODE_SHIM_FILE]: NODE_SHIM,
    };
    fs.mkdirSync(this.deps.dir, { recursive: true });
    const staging = fs.mkdtempSync(path.join(this.deps.dir, '.staging-'));
    try {
      const names = Object.keys(files).sort();
      for (const name of names) {
        const file = path.join(staging, name);
        fs.writeFileSync(file, files[name]);
        fs.chmodSync(file, 0o644);
        fs.utimesSync(file, FIXED_MTIME, FIXED_MTIME);
      }
      const chunks: Buffer[] = [];
      const stream = tar.create({ cwd: staging, gzip: { level: 9 }, portable: true, mtime: FIXED_MTIME, noDirRecurse: true }, names);
      for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
      const archive = Buffer.concat(chunks);
      return { archive, checksum: createHash('sha256').update(archive).digest('hex') };
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }

  private async signatureFor(checksum: string): Promise<PayloadSignature> {
    const key = await this.signingKey();
    return {
      formatVersion: PAYLOAD_FORMAT_VERSION,
      checksum,
      keyId: key.keyId,
      signature: sign(null, Buffer.from(payloadSignedString(checksum)), key.privateKey).toString('base64'),
    };
  }

  private signingKey(): Promise<{ privateKey: KeyObject; publicKeyPem: string; keyId: string }> {
    this.key ??= (async () => {
      let pem = await this.deps.secrets.get(PAYLOAD_SIGNING_KEY_REF);
      if (!pem) {
        await this.deps.secrets.set(PAYLOAD_SIGNING_KEY_REF, generateSigningKeyPair().privateKeyPem);
        // Read back: two starts racing on a fresh machine settle on whichever key the keychain kept.
        pem = await this.deps.secrets.get(PAYLOAD_SIGNING_KEY_REF);
        if (!pem) throw new AppError('KEYCHAIN_UNAVAILABLE', `the ${this.deps.secrets.description} did not keep the payload signing key`);
      }
      const privateKey = createPrivateKey(pem);
      return { privateKey, publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(), keyId: keyIdOf(privateKey) };
    })();
    this.key.catch(() => (this.key = undefined));
    return this.key;
  }

  private fromRow(row: Row<'execution_payloads'>): Payload | null {
    const folder = path.dirname(row.payload_path);
    try {
      const signature = JSON.parse(fs.readFileSync(path.join(folder, PAYLOAD_SIGNATURE_FILE), 'utf8')) as PayloadSignature;
      const size = fs.statSync(row.payload_path).size;
      return {
        id: row.id, eventId: row.event_id ?? '', eventVersion: row.event_version, checksum: row.checksum, path: row.payload_path,
        sizeBytes: size, signature, createdAt: row.created_at,
      };
    } catch {
      return null;
    }
  }
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]]));
}
