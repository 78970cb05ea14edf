/**
 * Webhook channel: POSTs the alert as JSON (generic, Slack or Teams shape, alert-message.ts) to a URL kept in the
 * keychain (it usually carries a token). Certificates are always verified; redirects are not followed (a webhook that
 * moves is a configuration to fix, and following one could send the alert elsewhere). The attempt's timeout runs on
 * the core Clock; any 2xx is success, 408 / 429 / 5xx and network or TLS failures may be retried, other 4xx not.
 */
import http from 'node:http';
import https from 'node:https';
import type { WebhookFormat } from '../../../../src-shared/contract/alerts';
import type { Clock } from '../../clock';
import { webhookBody, type AlertMessage } from '../alert-message';
import { DeliveryError, describeNetworkError } from './delivery-error';

export interface WebhookSendOptions {
  url: string;
  format: WebhookFormat;
  clock: Clock;
  timeoutMs: number;
}

/** Only http(s) URLs with a host are webhooks; returns the reason a URL is refused, or null. */
export function webhookUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be a full URL (https://...)';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must start with https:// or http://';
  if (!url.hostname) return 'must name a host';
  return null;
}

/** "https://hooks.slack.com/…": scheme and host only, safe to show (the path and query usually hold the token). */
export function webhookDisplay(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return '(invalid URL)';
  }
}

export function sendWebhook(message: AlertMessage, opts: WebhookSendOptions): Promise<void> {
  const problem = webhookUrlProblem(opts.url);
  if (problem) return Promise.reject(new DeliveryError(`webhook URL ${problem}`, false));
  const url = new URL(opts.url);
  const body = Buffer.from(JSON.stringify(webhookBody(opts.format, message)));
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: DeliveryError) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      if (err) reject(err);
      else resolve();
    };
    const req = transport.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length, 'user-agent': 'Cronium-Desktop-Alerts' },
        // Verified against the system's CAs; never turned off.
        rejectUnauthorized: true,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 2048) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return finish();
          const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
          const retryable = status === 408 || status === 429 || status >= 500 || (status >= 300 && status < 400);
          const where = status >= 300 && status < 400 ? ` (redirect to ${res.headers.location ?? '?'} not followed)` : '';
          finish(new DeliveryError(`HTTP ${status} ${res.statusMessage ?? ''}`.trim() + where + (text ? `: ${text}` : ''), retryable));
        });
        res.on('error', (err) => finish(describeNetworkError(err)));
      },
    );
    const timer = opts.clock.setTimeout(() => {
      finish(new DeliveryError(`timed out after ${formatSeconds(opts.timeoutMs)} (no answer from ${url.host})`, true));
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (err) => finish(describeNetworkError(err)));
    req.end(body);
  });
}

export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
