/**
 * All handlers, one file per domain (named like the contract file it serves), merged into the router's map.
 * The HandlerMap type makes a missing or misspelt handler a compile error.
 */
import type { Core } from '../../core/core';
import type { HandlerMap } from '../router';
import { systemHandlers } from './system';
import { settingsHandlers } from './settings';
import { scheduleHandlers, scheduleUpcomingHandlers } from './schedule';
import { serversHandlers } from './servers';
import { eventsHandlers } from './events';
import { jobsHandlers } from './jobs';
import { runsHandlers } from './runs';
import { logsHandlers } from './logs';
import { runnersHandlers } from './runners';
import { workflowsHandlers } from './workflows';
import { variablesHandlers } from './variables';
import { notificationsHandlers } from './notifications';
import { auditHandlers } from './audit';
import { rolloutHandlers } from './rollout';
import { alertsHandlers } from './alerts';
import { catalogueHandlers } from './catalogue';
import { serverSchedulesHandlers } from './server-schedules';
import { updatesUnsupported, type AppUpdatesPort } from '../app-updates';

/** `updates`: the desktop shell's updater; serve mode and tests get the "desktop build only" answer. */
export function createHandlers(core: Core, ports: { updates?: AppUpdatesPort } = {}): HandlerMap {
  const updates = ports.updates ?? updatesUnsupported(core.config.appVersion, () => core.settings.current().updates);
  return {
    ...systemHandlers(core),
    ...settingsHandlers(core),
    ...scheduleHandlers(() => core.clock.now()),
    ...scheduleUpcomingHandlers(core),
    ...serversHandlers(core),
    ...eventsHandlers(core),
    ...jobsHandlers(core),
    ...runsHandlers(core),
    ...logsHandlers(core),
    ...runnersHandlers(core.runners),
    ...workflowsHandlers(core),
    ...variablesHandlers(core),
    ...notificationsHandlers(core),
    ...auditHandlers(core),
    ...rolloutHandlers(core, updates),
    ...alertsHandlers(core),
    ...catalogueHandlers(core),
    ...serverSchedulesHandlers(core),
  };
}
