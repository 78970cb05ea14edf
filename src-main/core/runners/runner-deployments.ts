/**
 * RunnerDeployments: the one reader and writer of runner_deployments. It owns the metadata JSON's shape (validated on
 * read), appends history entries, and turns rows into the contract's views. It never talks to a server and never
 * stores anything secret (metadata holds versions, paths on the server, checksums, reasons and health figures).
 */
import { z } from 'zod';
import {
  RunnerHealthView,
  RunnerHistoryEntry,
  type RunnerDeploymentStatus,
  type RunnerDeploymentView,
} from '../../../src-shared/contract/runners';
import { RunnerKind } from '../../../src-shared/protocol/runner-info';
import { sql } from 'kysely';
import type { Clock } from '../clock';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import type { Row } from '../db/schema';
import { AppError } from '../errors';
import type { GuardedRunner } from './runner-integrity';

/** History entries kept per deployment; older ones are dropped. */
const MAX_HISTORY = 50;

export const DeploymentMetadata = z.object({
  artifactId: z.string().nullable().default(null),
  kind: RunnerKind.nullable().default(null),
  os: z.string().nullable().default(null),
  arch: z.string().nullable().default(null),
  /** Absolute path of the runner on the server. */
  path: z.string().nullable().default(null),
  sha256: z.string().nullable().default(null),
  /** The file's fingerprint at deploy (runner-integrity.ts): checked before every use of the runner. */
  fingerprint: z.string().nullable().default(null),
  /**
   * The runtime the js code bundle runs under (a server without Node): the Node binary at path, shared by every runner
   * version on the server, its signed sha256 and its fingerprint (checked before every use; the bundle is hashed).
   */
  runtime: z
    .object({ path: z.string(), sha256: z.string(), fingerprint: z.string().nullable(), nodeVersion: z.string() })
    .nullable()
    .default(null),
  /** When the file's full sha256 was last checked on the server (deploy, or a periodic / mismatch check). */
  verifiedAt: z.string().nullable().default(null),
  capabilities: z.array(z.string()).default([]),
  protocolVersion: z.number().nullable().default(null),
  reason: z.string().nullable().default(null),
  /** The step a failure happened in ('probe', 'upload', 'verify', 'handshake', 'health', ...). */
  failedStep: z.string().nullable().default(null),
  transferredBytes: z.number().int().default(0),
  durations: z.record(z.string(), z.number()).default({}),
  previousDeploymentId: z.string().nullable().default(null),
  /** Stored exactly as the contract shows it. */
  health: RunnerHealthView.nullable().default(null),
  history: z.array(RunnerHistoryEntry).default([]),
});
export type DeploymentMetadata = z.infer<typeof DeploymentMetadata>;

export interface DeploymentRecord {
  id: string;
  serverId: string | null;
  version: string;
  status: RunnerDeploymentStatus;
  deployedAt: string;
  lastHealthCheck: string | null;
  metadata: DeploymentMetadata;
}

function parseMetadata(text: string | null): DeploymentMetadata {
  if (!text) return DeploymentMetadata.parse({});
  try {
    const parsed = DeploymentMetadata.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through: unreadable metadata must not hide the row
  }
  return DeploymentMetadata.parse({ reason: 'the stored deployment details could not be read' });
}

const STATUSES: readonly RunnerDeploymentStatus[] = ['active', 'failed', 'updating', 'superseded', 'removed', 'tampered'];

function toRecord(row: Row<'runner_deployments'>): DeploymentRecord {
  const status = (STATUSES as readonly string[]).includes(row.status) ? (row.status as RunnerDeploymentStatus) : 'failed';
  return {
    id: row.id,
    serverId: row.server_id,
    version: row.runner_version,
    status,
    deployedAt: row.deployed_at,
    lastHealthCheck: row.last_health_check,
    metadata: parseMetadata(row.metadata),
  };
}

export class RunnerDeployments {
  constructor(
    private readonly db: AppDatabase,
    private readonly clock: Clock,
  ) {}

  async get(id: string): Promise<DeploymentRecord | null> {
    const row = await this.db.kysely.selectFrom('runner_deployments').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async require(id: string): Promise<DeploymentRecord> {
    const found = await this.get(id);
    if (!found) throw new AppError('NOT_FOUND', `There is no runner deployment ${id}; it may have been removed with its server.`);
    return found;
  }

  /** Newest first; of one server or of all. */
  async list(serverId?: string): Promise<DeploymentRecord[]> {
    let q = this.db.kysely.selectFrom('runner_deployments').selectAll();
    if (serverId !== undefined) q = q.where('server_id', '=', serverId);
    const rows = await q.orderBy('deployed_at', 'desc').orderBy('id').execute();
    return rows.map(toRecord);
  }

  async active(serverId: string): Promise<DeploymentRecord | null> {
    const row = await this.db.kysely
      .selectFrom('runner_deployments')
      .selectAll()
      .where('server_id', '=', serverId)
      .where('status', '=', 'active')
      .orderBy('deployed_at', 'desc')
      .executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async allActive(): Promise<DeploymentRecord[]> {
    const rows = await this.db.kysely.selectFrom('runner_deployments').selectAll().where('status', '=', 'active').execute();
    return rows.map(toRecord);
  }

  async create(serverId: string, version: string, status: RunnerDeploymentStatus, metadata: Partial<DeploymentMetadata>, at = nowIso(this.clock.now())): Promise<DeploymentRecord> {
    const meta = DeploymentMetadata.parse(metadata);
    const id = newId();
    await this.db.kysely
      .insertInto('runner_deployments')
      .values({ id, server_id: serverId, runner_version: version, deployed_at: at, last_health_check: null, status, metadata: JSON.stringify(meta) })
      .execute();
    return { id, serverId, version, status, deployedAt: at, lastHealthCheck: null, metadata: meta };
  }

  /** Records the version a deployment turned out to be (a 'pending' row, or a deploy that installed another version). */
  setVersion(id: string, version: string): void {
    this.db.sqlite.prepare('UPDATE runner_deployments SET runner_version = ? WHERE id = ?').run(version, id);
  }

  /** Runs `write` (synchronous calls of this store) as one SQLite transaction: all of it is written, or none. */
  inTransaction<T>(write: () => T): T {
    return this.db.sqlite.transaction(write)();
  }

  /**
   * Changes a deployment: status, metadata fields, last health check, and one history line. Read-modify-write in
   * one synchronous SQLite transaction, so concurrent health checks and deploys do not lose each other's history.
   */
  update(
    id: string,
    change: {
      status?: RunnerDeploymentStatus;
      metadata?: Partial<DeploymentMetadata>;
      lastHealthCheck?: string;
      deployedAt?: string;
      history?: { event: string; message: string; at?: string };
    },
  ): DeploymentRecord {
    const sqlite = this.db.sqlite;
    return sqlite.transaction(() => {
      const row = sqlite.prepare('SELECT * FROM runner_deployments WHERE id = ?').get(id) as Row<'runner_deployments'> | undefined;
      if (!row) throw new AppError('NOT_FOUND', `There is no runner deployment ${id}; it may have been removed with its server.`);
      const record = toRecord(row);
      const meta: DeploymentMetadata = { ...record.metadata, ...(change.metadata ?? {}) };
      if (change.history) {
        const entry: RunnerHistoryEntry = { at: change.history.at ?? nowIso(this.clock.now()), event: change.history.event, message: change.history.message };
        meta.history = [...meta.history, entry].slice(-MAX_HISTORY);
      }
      const status = change.status ?? record.status;
      const lastHealthCheck = change.lastHealthCheck ?? record.lastHealthCheck;
      const deployedAt = change.deployedAt ?? record.deployedAt;
      sqlite
        .prepare('UPDATE runner_deployments SET status = ?, metadata = ?, last_health_check = ?, deployed_at = ? WHERE id = ?')
        .run(status, JSON.stringify(meta), lastHealthCheck, deployedAt, id);
      return { ...record, status, lastHealthCheck, deployedAt, metadata: meta };
    })();
  }

  async serverName(serverId: string | null): Promise<string | null> {
    if (!serverId) return null;
    const row = await this.db.kysely.selectFrom('servers').select('name').where('id', '=', serverId).executeTakeFirst();
    return row?.name ?? null;
  }

  async requireServer(serverId: string): Promise<{ id: string; name: string }> {
    const row = await this.db.kysely.selectFrom('servers').select(['id', 'name']).where('id', '=', serverId).executeTakeFirst();
    if (!row) throw new AppError('NOT_FOUND', `There is no server ${serverId}; it may have been deleted.`);
    return row;
  }

  async view(record: DeploymentRecord): Promise<RunnerDeploymentView> {
    return toView(record, await this.serverName(record.serverId));
  }

  async views(records: DeploymentRecord[]): Promise<RunnerDeploymentView[]> {
    const names = new Map<string, string | null>();
    const out: RunnerDeploymentView[] = [];
    for (const r of records) {
      if (r.serverId && !names.has(r.serverId)) names.set(r.serverId, await this.serverName(r.serverId));
      out.push(toView(r, r.serverId ? (names.get(r.serverId) ?? null) : null));
    }
    return out;
  }
}

/**
 * What the integrity guard checks for a deployment (runner-integrity.ts): the file, its kind and fingerprint, and with
 * a runtime the bundle's signed sha256 and the runtime's fingerprint. The one builder of that shape (RunnerService's
 * CompatibleRunner extends it).
 */
export function guardedRunnerOf(m: Pick<DeploymentMetadata, 'path' | 'kind' | 'fingerprint' | 'sha256' | 'runtime'>): Required<GuardedRunner> & { path: string } {
  return {
    path: m.path ?? '',
    kind: m.kind,
    fingerprint: m.fingerprint,
    sha256: m.runtime ? m.sha256 : null,
    runtime: m.runtime ? { path: m.runtime.path, sha256: m.runtime.sha256, fingerprint: m.runtime.fingerprint } : null,
  };
}

export function healthView(meta: DeploymentMetadata): RunnerHealthView | null {
  return meta.health ? { ...meta.health } : null;
}

function toView(r: DeploymentRecord, serverName: string | null): RunnerDeploymentView {
  const m = r.metadata;
  return {
    id: r.id,
    serverId: r.serverId,
    serverName,
    version: r.version,
    status: r.status,
    deployedAt: r.deployedAt,
    lastHealthCheck: r.lastHealthCheck,
    kind: m.kind,
    os: m.os,
    arch: m.arch,
    path: m.path,
    sha256: m.sha256,
    capabilities: m.capabilities,
    reason: m.reason,
    transferredBytes: m.transferredBytes,
    health: healthView(m),
    history: m.history,
  };
}

/**
 * The Dashboard's runner counts (added by "flow" for the no-SQL-outside-stores rule): deployments by status, and the
 * active ones by health state (null when the metadata JSON cannot be read, so it counts as unknown, never fails).
 */
export async function deploymentCounts(db: AppDatabase): Promise<{ byStatus: Map<string, number>; activeByHealth: Map<string, number> }> {
  const count = (rows: Array<{ key: string | null; n: number | string | bigint }>) => new Map(rows.map((r) => [r.key ?? '', Number(r.n)]));
  const [byStatus, activeByHealth] = await Promise.all([
    db.kysely.selectFrom('runner_deployments')
      .select(['status as key', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['active', 'failed', 'updating'])
      .groupBy('status')
      .execute(),
    db.kysely.selectFrom('runner_deployments')
      .select([
        sql<string | null>`CASE WHEN json_valid(metadata) THEN json_extract(metadata, '$.health.state') END`.as('key'),
        (eb) => eb.fn.countAll<number>().as('n'),
      ])
      .where('status', '=', 'active')
      .groupBy('key')
      .execute(),
  ]);
  return { byStatus: count(byStatus), activeByHealth: count(activeByHealth) };
}
