/**
 * Alerts: rules that tell people outside the app (a chat webhook, a mailbox, a command on this workstation) when an
 * event, a workflow or a runner fails, recovers, succeeds or misses a schedule, and the history of every delivery
 * attempt. Channel secrets (a webhook URL carrying a token, an SMTP password) go in with a save and never come back:
 * views carry `hasSecret` and a display form only.
 */
import { z } from 'zod';
import { call, NoInput, Ok } from './define';

export const AlertSubjectKind = z.enum(['event', 'workflow', 'runner']);
export type AlertSubjectKind = z.infer<typeof AlertSubjectKind>;

/** failure: a job, run or runner health check failed; recovery: success after a failure; missed: a schedule misfired. */
export const AlertTrigger = z.enum(['failure', 'recovery', 'success', 'missed']);
export type AlertTrigger = z.infer<typeof AlertTrigger>;

export const WebhookFormat = z.enum(['json', 'slack', 'teams']);
export type WebhookFormat = z.infer<typeof WebhookFormat>;

/** 'tls': TLS from the first byte (port 465); 'starttls': STARTTLS required; 'none': plain SMTP (loopback relays only). */
export const SmtpSecurity = z.enum(['tls', 'starttls', 'none']);

const EmailAddress = z.string().trim().email('must be an e-mail address');

export const WebhookChannelConfig = z.object({ format: WebhookFormat }).strict();
export const EmailChannelConfig = z
  .object({
    host: z.string().trim().min(1, 'the SMTP host is required').max(255),
    port: z.number().int().min(1).max(65535),
    security: SmtpSecurity,
    username: z.string().max(255).default(''),
    from: EmailAddress,
    to: z.array(EmailAddress).min(1, 'at least one recipient is required').max(50),
  })
  .strict();
export const CommandChannelConfig = z
  .object({
    /** An absolute path to a program; run without a shell, the alert as JSON on stdin and CRONIUM_ALERT_* variables. */
    command: z.string().trim().regex(/^\//, 'must be an absolute path to a program').max(1024),
    args: z.array(z.string().max(1024)).max(20).default([]),
  })
  .strict();

/** The channel of a rule. `secret` (webhook URL, SMTP password) is write-only; omitted on an edit = keep the stored one. */
export const AlertChannelInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('webhook'), config: WebhookChannelConfig, secret: z.string().max(4096).optional() }),
  z.object({ kind: z.literal('email'), config: EmailChannelConfig, secret: z.string().max(1024).optional() }),
  z.object({ kind: z.literal('command'), config: CommandChannelConfig }),
]);
export type AlertChannelInput = z.infer<typeof AlertChannelInput>;

export const AlertRuleInput = z
  .object({
    id: z.string().min(1).optional(),
    name: z.string().trim().min(1, 'a name is required').max(120),
    subjectKind: AlertSubjectKind,
    /** null = every event (workflow, runner). For a runner, the server's id. */
    subjectId: z.string().min(1).nullable().default(null),
    triggers: z.array(AlertTrigger).min(1, 'choose at least one trigger'),
    channel: AlertChannelInput,
    /** Rate limit: at most this many deliveries of this rule per window. */
    maxPerWindow: z.number().int().min(1).max(1000).default(5),
    windowSeconds: z.number().int().min(10).max(7 * 24 * 3600).default(3600),
    /** The same alert (rule, trigger, subject) again within this many seconds is folded into the first. 0 = off. */
    dedupSeconds: z.number().int().min(0).max(7 * 24 * 3600).default(900),
    enabled: z.boolean().default(true),
  })
  .strict();
export type AlertRuleInput = z.input<typeof AlertRuleInput>;

export const AlertRuleView = z.object({
  id: z.string(),
  name: z.string(),
  subjectKind: AlertSubjectKind,
  subjectId: z.string().nullable(),
  /** The subject's name (event, workflow or server), null for "any". */
  subjectName: z.string().nullable(),
  triggers: z.array(AlertTrigger),
  channelKind: z.enum(['webhook', 'email', 'command']),
  channelConfig: z.record(z.string(), z.unknown()),
  /** Whether a channel secret is stored in the keychain (its value never leaves the main process). */
  hasSecret: z.boolean(),
  /** Where alerts go, safe to show: "https://hooks.example.com/…", "ops@example.com", "/usr/local/bin/page". */
  target: z.string(),
  maxPerWindow: z.number().int(),
  windowSeconds: z.number().int(),
  dedupSeconds: z.number().int(),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type AlertRuleView = z.infer<typeof AlertRuleView>;

export const AlertDeliveryStatus = z.enum(['pending', 'delivered', 'failed']);

export const AlertAttemptView = z.object({
  attempt: z.number().int(),
  at: z.string(),
  ok: z.boolean(),
  error: z.string().nullable(),
  durationMs: z.number(),
});

export const AlertDeliveryView = z.object({
  id: z.string(),
  ruleId: z.string().nullable(),
  ruleName: z.string(),
  channelKind: z.string(),
  trigger: z.string(),
  subjectKind: z.string(),
  subjectId: z.string().nullable(),
  subjectName: z.string().nullable(),
  summary: z.string(),
  status: AlertDeliveryStatus,
  attempts: z.array(AlertAttemptView),
  /** Later alerts folded into this one (duplicates, or over the rule's rate limit). */
  suppressed: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type AlertDeliveryView = z.infer<typeof AlertDeliveryView>;

export const alertsCalls = {
  'alerts/listRules': call(NoInput, z.array(AlertRuleView)),
  /** Validates every field at once (INVALID_INPUT with `fields`); stores the channel secret in the keychain. */
  'alerts/saveRule': call(AlertRuleInput, AlertRuleView),
  'alerts/deleteRule': call(z.object({ id: z.string().min(1) }), Ok),
  /** Sends a test alert through the rule's channel (queued like any other; see the history). */
  'alerts/test': call(z.object({ id: z.string().min(1) }), AlertDeliveryView),
  'alerts/history': call(
    z.object({ ruleId: z.string().min(1).optional(), limit: z.number().int().min(1).max(500).default(100) }).optional(),
    z.array(AlertDeliveryView),
  ),
};

export const alertsEvents = {
  /** A delivery was queued, attempted, delivered or given up: reload the history. */
  'alerts/deliveryChanged': z.object({ deliveryId: z.string(), status: AlertDeliveryStatus }),
};
