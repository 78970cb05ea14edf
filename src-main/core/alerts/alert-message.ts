/**
 * The alert as sent: one AlertMessage per delivery, rendered by each channel into its own shape (generic JSON, a
 * Slack message, a Microsoft Teams MessageCard, a plain-text mail, the JSON a command reads on stdin). Messages carry
 * names, statuses and reasons only, never a secret value or a log's content.
 */
import type { AlertSubjectKind, AlertTrigger, WebhookFormat } from '../../../src-shared/contract/alerts';

/** Version of the generic JSON payload; receivers can switch on it. */
export const ALERT_PAYLOAD_VERSION = 1;

export interface AlertMessage {
  trigger: AlertTrigger | 'test';
  subject: { kind: AlertSubjectKind; id: string | null; name: string | null };
  /** The server the job or runner is on, when there is one. */
  serverName: string | null;
  /** The status that raised the alert: FAILURE, SUCCESS, unhealthy, skipped_misfire, ... */
  status: string;
  /** One line a person reads first: "nightly-backup failed on db-1: exited with code 7". */
  summary: string;
  reason: string | null;
  /** When it happened (ISO). */
  at: string;
  jobId: string | null;
  workflowRunId: string | null;
  ruleName: string;
}

const TRIGGER_WORDS: Record<AlertMessage['trigger'], string> = {
  failure: 'failed',
  recovery: 'recovered',
  success: 'succeeded',
  missed: 'missed its schedule',
  test: 'test alert',
};

export function alertTitle(m: AlertMessage): string {
  const who = m.subject.name ?? `${m.subject.kind} ${m.subject.id ?? ''}`.trim();
  return `[Cronium] ${who} ${TRIGGER_WORDS[m.trigger]}${m.serverName ? ` on ${m.serverName}` : ''}`;
}

function facts(m: AlertMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ['Trigger', m.trigger],
    [m.subject.kind === 'runner' ? 'Runner' : m.subject.kind === 'workflow' ? 'Workflow' : 'Event', m.subject.name ?? m.subject.id ?? '(any)'],
    ['Status', m.status],
    ['At', m.at],
  ];
  if (m.serverName) out.push(['Server', m.serverName]);
  if (m.reason) out.push(['Reason', m.reason]);
  if (m.jobId) out.push(['Job', m.jobId]);
  if (m.workflowRunId) out.push(['Workflow run', m.workflowRunId]);
  out.push(['Rule', m.ruleName]);
  return out;
}

/** The request body of a webhook in the chosen format. */
export function webhookBody(format: WebhookFormat, m: AlertMessage): unknown {
  const title = alertTitle(m);
  switch (format) {
    case 'slack':
      // Slack incoming webhooks (and Mattermost / Rocket.Chat, which accept the same shape): text plus blocks.
      return {
        text: `${title}: ${m.summary}`,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: m.summary } },
          { type: 'section', fields: facts(m).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v}` })).slice(0, 10) },
        ],
      };
    case 'teams':
      // Microsoft Teams incoming webhook: the legacy MessageCard, which Teams and Power Automate workflows accept.
      return {
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: title,
        themeColor: m.trigger === 'failure' || m.trigger === 'missed' ? 'D13438' : '2EB886',
        title,
        text: m.summary,
        sections: [{ facts: facts(m).map(([name, value]) => ({ name, value })) }],
      };
    case 'json':
      return { version: ALERT_PAYLOAD_VERSION, title, ...m };
  }
}

/** Subject and plain-text body of an alert mail. */
export function mailContent(m: AlertMessage): { subject: string; text: string } {
  const lines = [m.summary, '', ...facts(m).map(([k, v]) => `${k}: ${v}`), '', '-- sent by Cronium Desktop'];
  return { subject: alertTitle(m), text: lines.join('\n') };
}
