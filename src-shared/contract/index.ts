/**
 * The IPC contract: every call (input and output schema) and every pushed event, merged from the domain files.
 * Both transports (Electron IPC, serve-mode WebSocket), the router and the renderer's rpc client are typed from it;
 * a name or argument that is not here does not compile, and is refused at run time by the router.
 * To add a domain: write contract/<domain>.ts exporting <domain>Calls and <domain>Events, and spread them below.
 */
import type { z } from 'zod';
import { systemCalls, systemEvents } from './system';
import { settingsCalls, settingsEvents } from './settings';
import { scheduleCalls, scheduleEvents } from './schedule';
import { serversCalls, serversEvents } from './servers';
import { eventsCalls, eventsEvents } from './events';
import { jobsCalls, jobsEvents } from './jobs';
import { runsCalls, runsEvents } from './runs';
import { logsCalls, logsEvents } from './logs';
import { runnersCalls, runnersEvents } from './runners';
import { workflowsCalls, workflowsEvents } from './workflows';
import { variablesCalls, variablesEvents } from './variables';
import { notificationsCalls, notificationsEvents } from './notifications';
import { auditCalls, auditEvents } from './audit';
import { rolloutCalls, rolloutEvents } from './rollout';
import { alertsCalls, alertsEvents } from './alerts';
import { catalogueCalls, catalogueEvents } from './catalogue';
import { serverSchedulesCalls, serverSchedulesEvents } from './server-schedules';

export const calls = {
  ...systemCalls,
  ...settingsCalls,
  ...scheduleCalls,
  ...serversCalls,
  ...eventsCalls,
  ...jobsCalls,
  ...runsCalls,
  ...logsCalls,
  ...runnersCalls,
  ...workflowsCalls,
  ...variablesCalls,
  ...notificationsCalls,
  ...auditCalls,
  ...rolloutCalls,
  ...alertsCalls,
  ...catalogueCalls,
  ...serverSchedulesCalls,
};

export const events = {
  ...systemEvents,
  ...settingsEvents,
  ...scheduleEvents,
  ...serversEvents,
  ...eventsEvents,
  ...jobsEvents,
  ...runsEvents,
  ...logsEvents,
  ...runnersEvents,
  ...workflowsEvents,
  ...variablesEvents,
  ...notificationsEvents,
  ...auditEvents,
  ...rolloutEvents,
  ...alertsEvents,
  ...catalogueEvents,
  ...serverSchedulesEvents,
};

export type Calls = typeof calls;
export type CallName = keyof Calls;
export type CallInput<K extends CallName> = z.input<Calls[K]['input']>;
export type CallParsedInput<K extends CallName> = z.output<Calls[K]['input']>;
export type CallOutput<K extends CallName> = z.infer<Calls[K]['output']>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<K extends EventName> = z.infer<Events[K]>;

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(calls, name);
}
export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
}

export * from './define';
