/**
 * E-mail channel: sends the alert as a plain-text mail over SMTP with nodemailer, one connection per delivery
 * (alerts are rare; a pool would hold a socket open for nothing). The password comes from the keychain; certificates
 * are always verified. 'none' (plain SMTP, no TLS) is for a relay on this machine or a trusted LAN only (the UI says
 * so): the password would cross the network in clear. The attempt's timeout runs on the core Clock.
 */
import { createTransport } from 'nodemailer';
import type { z } from 'zod';
import type { EmailChannelConfig } from '../../../../src-shared/contract/alerts';
import type { Clock } from '../../clock';
import { mailContent, type AlertMessage } from '../alert-message';
import { DeliveryError, describeNetworkError } from './delivery-error';
import { formatSeconds } from './webhook-channel';

export interface EmailSendOptions {
  config: z.infer<typeof EmailChannelConfig>;
  password: string | null;
  clock: Clock;
  timeoutMs: number;
}

export async function sendEmail(message: AlertMessage, opts: EmailSendOptions): Promise<void> {
  const { config } = opts;
  const transport = createTransport({
    host: config.host,
    port: config.port,
    secure: config.security === 'tls',
    requireTLS: config.security === 'starttls',
    ignoreTLS: config.security === 'none',
    auth: config.username ? { user: config.username, pass: opts.password ?? '' } : undefined,
    tls: { rejectUnauthorized: true },
    // nodemailer's own socket timers are a back-stop; the Clock timer below decides.
    connectionTimeout: opts.timeoutMs + 1000,
    greetingTimeout: opts.timeoutMs + 1000,
    socketTimeout: opts.timeoutMs + 1000,
  });
  const { subject, text } = mailContent(message);
  let timer: { cancel(): void } | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = opts.clock.setTimeout(
      () => reject(new DeliveryError(`timed out after ${formatSeconds(opts.timeoutMs)} (SMTP ${config.host}:${config.port})`, true)),
      opts.timeoutMs,
    );
  });
  try {
    await Promise.race([transport.sendMail({ from: config.from, to: config.to, subject, text }), timedOut]);
  } catch (err) {
    if (err instanceof DeliveryError) throw err;
    const e = err as { code?: string; responseCode?: number; response?: string; message?: string };
    if (e.code === 'EAUTH') throw new DeliveryError(`SMTP login refused: ${e.response ?? e.message ?? ''}`.trim(), false);
    if (typeof e.responseCode === 'number') {
      // 4xx: temporary (greylisting, a full queue); 5xx: permanent (a refused recipient or sender).
      throw new DeliveryError(`SMTP ${e.responseCode}: ${e.response ?? e.message ?? ''}`.trim(), e.responseCode < 500);
    }
    throw describeNetworkError(err);
  } finally {
    timer?.cancel();
    transport.close();
  }
}
