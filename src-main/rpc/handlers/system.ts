/**
 * system/* handlers: what the app is, whether its keychain works, and the Dashboard's counts (system/stats), read
 * straight from the database on each call. Nothing here writes a row or caches a number.
 */
import { sql } from 'kysely';
import type { SystemStats } from '../../../src-shared/contract/system';
import type { Core } from '../../core/core';
import type { AppDatabase } from '../../core/db/database';
import { isAppError } from '../../core/errors';
import type { HandlersFor } from '../router';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Rows of `select key, count(*) group by key` as a map, so a missing group reads as 0. */
function countsBy(rows: { key: string | null; n: number | string | bigint }[]): Map<string, number> {
  return new Map(rows.map((r) => [r.key ?? '', Number(r.n)]));
}

async function countOf(query: Promise<{ n: number | string | bigint } | undefined>): Promise<number> {
  return Number((await query)?.n ?? 0);
}

/** The Dashboard's numbers at `nowMs`: "last 24h" means finished_at within the 24 hours before it. */
export async function computeSystemStats(db: AppDatabase, nowMs: number): Promise<SystemStats> {
  const k = db.kysely;
  const since = new Date(nowMs - DAY_MS).toISOString();

  const [live, finished, deployments, health, servers, events, scheduledEvents] = await Promise.all([
    k.selectFrom('jobs')
      .select(['status as key', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['QUEUED', 'DISPATCHING', 'RUNNING'])
      .groupBy('status')
      .execute(),
    k.selectFrom('jobs')
      .select(['status as key', (eb) => eb.fn.countAll<number>().as('n')])
      .where('finished_at', '>=', since)
      .groupBy('status')
      .execute(),
    k.selectFrom('runner_deployments')
      .select(['status as key', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['active', 'failed', 'updating'])
      .groupBy('status')
      .execute(),
    // Health lives in the metadata JSON; a row whose JSON cannot be read counts as unknown rather than failing the call.
    k.selectFrom('runner_deployments')
      .select([
        sql<string | null>`CASE WHEN json_valid(metadata) THEN json_extract(metadata, '$.health.state') END`.as('key'),
        (eb) => eb.fn.countAll<number>().as('n'),
      ])
      .where('status', '=', 'active')
      .groupBy('key')
      .execute(),
    countOf(k.selectFrom('servers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()),
    countOf(k.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()),
    countOf(
      k.selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('schedule', 'is not', null)
        .where('enabled', '=', 1)
        .executeTakeFirst(),
    ),
  ]);

  const liveBy = countsBy(live);
  const finishedBy = countsBy(finished);
  const deploymentsBy = countsBy(deployments);
  const healthBy = countsBy(health);
  const known = (healthBy.get('healthy') ?? 0) + (healthBy.get('degraded') ?? 0) + (healthBy.get('unhealthy') ?? 0);
  const activeTotal = [...healthBy.values()].reduce((a, b) => a + b, 0);

  return {
    jobs: {
      running: (liveBy.get('DISPATCHING') ?? 0) + (liveBy.get('RUNNING') ?? 0),
      queued: liveBy.get('QUEUED') ?? 0,
      last24h: {
        success: finishedBy.get('SUCCESS') ?? 0,
        failure: finishedBy.get('FAILURE') ?? 0,
        timeout: finishedBy.get('TIMEOUT') ?? 0,
        cancelled: finishedBy.get('CANCELLED') ?? 0,
        partial: finishedBy.get('PARTIAL') ?? 0,
      },
    },
    runners: {
      deployments: {
        active: deploymentsBy.get('active') ?? 0,
        failed: deploymentsBy.get('failed') ?? 0,
        updating: deploymentsBy.get('updating') ?? 0,
      },
      health: {
        healthy: healthBy.get('healthy') ?? 0,
        degraded: healthBy.get('degraded') ?? 0,
        unhealthy: healthBy.get('unhealthy') ?? 0,
        unknown: activeTotal - known,
      },
    },
    servers,
    events,
    scheduledEvents,
  };
}

export function systemHandlers(core: Core): HandlersFor<'system/info' | 'system/ping' | 'system/stats'> {
  return {
    'system/info': async () => {
      let keychain: { available: boolean; message?: string } = { available: true };
      try {
        await core.secrets.check();
      } catch (err) {
        keychain = { available: false, message: isAppError(err) ? err.message : String(err) };
      }
      return {
        appVersion: core.config.appVersion,
        mode: core.config.mode,
        dataDir: core.config.dataDir,
        listenerPort: core.listener.port,
        keychain,
      };
    },
    'system/ping': () => ({ at: new Date(core.clock.now()).toISOString() }),
    'system/stats': () => computeSystemStats(core.db, core.clock.now()),
  };
}
