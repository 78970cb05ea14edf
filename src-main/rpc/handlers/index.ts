/**
 * All handlers, one file per domain (named like the contract file it serves), merged into the router's map.
 * The HandlerMap type makes a missing or misspelt handler a compile error.
 */
import type { Core } from '../../core/core';
import type { HandlerMap } from '../router';
import { systemHandlers } from './system';
import { settingsHandlers } from './settings';
import { scheduleHandlers } from './schedule';
import { serversHandlers } from './servers';
import { eventsHandlers } from './events';
import { jobsHandlers } from './jobs';
import { logsHandlers } from './logs';
import { runnersHandlers } from './runners';
import { workflowsHandlers } from './workflows';
import { variablesHandlers } from './variables';

export function createHandlers(core: Core): HandlerMap {
  return {
    ...systemHandlers(core),
    ...settingsHandlers(core),
    ...scheduleHandlers(() => core.clock.now()),
    ...serversHandlers(core),
    ...eventsHandlers(core),
    ...jobsHandlers(core),
    ...logsHandlers(core),
    ...runnersHandlers(core.runners),
    ...workflowsHandlers(core),
    ...variablesHandlers(core),
  };
}
