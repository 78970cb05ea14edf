/**
 * Notifications: one history (the notification centre) and one stream of alerts, both produced in the core from the
 * event bus (src-main/core/notifications). Serve mode shows alerts as browser notifications, Electron as native ones;
 * neither decides what to say. An entry never carries script output or a secret: names, states and reasons only.
 */
import { z } from 'zod';
import { call } from './define';

export const NotificationKind = z.enum(['job_failed', 'job_succeeded', 'job_recovered', 'runner_unhealthy', 'link_lost', 'schedule_missed']);
export type NotificationKind = z.infer<typeof NotificationKind>;

/** How each kind is named in the centre, in Settings and in grouped alerts ("40 jobs failed"). */
export const NOTIFICATION_KIND_LABELS: Record<NotificationKind, { label: string; one: string; many: (n: number) => string }> = {
  job_failed: { label: 'Job failed', one: 'Job failed', many: (n) => `${n} jobs failed` },
  job_succeeded: { label: 'Job succeeded', one: 'Job succeeded', many: (n) => `${n} jobs succeeded` },
  job_recovered: { label: 'Job recovered', one: 'Job recovered', many: (n) => `${n} jobs recovered` },
  runner_unhealthy: { label: 'Runner unhealthy', one: 'Runner unhealthy', many: (n) => `${n} runners unhealthy` },
  link_lost: { label: 'Link lost', one: 'Link to a runner job lost', many: (n) => `Links to ${n} runner jobs lost` },
  schedule_missed: { label: 'Schedule missed', one: 'Scheduled run missed', many: (n) => `${n} scheduled runs missed` },
};

/** What a click on an entry opens. */
export const NotificationTarget = z.object({
  kind: z.enum(['log', 'server', 'event', 'workflow']),
  id: z.string(),
});
export type NotificationTarget = z.infer<typeof NotificationTarget>;

export const NotificationView = z.object({
  id: z.string(),
  kind: NotificationKind,
  title: z.string(),
  body: z.string(),
  target: NotificationTarget.nullable(),
  /** Entries announced together in one grouped alert share it. */
  groupId: z.string().nullable(),
  createdAt: z.string(),
  readAt: z.string().nullable(),
});
export type NotificationView = z.infer<typeof NotificationView>;

/** One alert to show as a browser or native notification: one entry, or a group of entries of one kind. */
export const NotificationAlert = z.object({
  groupId: z.string(),
  kind: NotificationKind,
  title: z.string(),
  body: z.string(),
  /** How many centre entries the alert stands for. */
  count: z.number().int().min(1),
  entryIds: z.array(z.string()),
  /** Set for a single entry; a group opens the centre. */
  target: NotificationTarget.nullable(),
});
export type NotificationAlert = z.infer<typeof NotificationAlert>;

export const notificationsCalls = {
  /** Newest first. */
  'notifications/list': call(
    z
      .object({
        limit: z.number().int().min(1).max(1000).default(200),
        unreadOnly: z.boolean().default(false),
        kind: NotificationKind.optional(),
      })
      .optional(),
    z.object({ items: z.array(NotificationView), unread: z.number().int() }),
  ),
  /** Marks the given entries read, or all of them when `ids` is left out. */
  'notifications/markRead': call(z.object({ ids: z.array(z.string().min(1)).max(1000).optional() }), z.object({ unread: z.number().int() })),
};

export const notificationsEvents = {
  /** Entries were added or marked read: reload the centre; `unread` is the new count. */
  'notifications/changed': z.object({ unread: z.number().int(), added: z.array(NotificationView) }),
  /** Show this as a notification outside the page (already filtered by preferences and quiet hours). */
  'notifications/alert': NotificationAlert,
};
