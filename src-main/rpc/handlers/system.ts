/**
 * system/* handlers: what the app is, whether its keychain works, and the Dashboard's counts (system/stats), read
 * through the owning stores on each call. Nothing here writes a row or caches a number.
 */
import type { SystemStats } from '../../../src-shared/contract/system';
import type { Core } from '../../core/core';
import type { AppDatabase } from '../../core/db/database';
import { isAppError } from '../../core/errors';
import { jobCountsByStatus } from '../../core/jobs/job-store';
import { deploymentCounts } from '../../core/runners/runner-deployments';
import { countServers } from '../../core/servers/server-store';
import { eventCounts } from '../../core/events/event-store';
import type { HandlersFor } from '../router';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The Dashboard's numbers at `nowMs`: "last 24h" means finished_at within the 24 hours before it. */
export async function computeSystemStats(db: AppDatabase, nowMs: number): Promise<SystemStats> {
  const since = new Date(nowMs - DAY_MS).toISOString();
  const [jobs, deployments, servers, events] = await Promise.all([
    jobCountsByStatus(db, since),
    deploymentCounts(db),
    countServers(db),
    eventCounts(db),
  ]);
  const liveBy = jobs.live;
  const finishedBy = jobs.finished;
  const deploymentsBy = deployments.byStatus;
  const healthBy = deployments.activeByHealth;
  const scheduledEvents = events.scheduled;
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
    events: events.events,
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
