/**
 * Local endpoints for alert tests: an HTTP sink (200, 500, or never answering, chosen by path), an HTTPS sink with a
 * self-signed certificate (made with openssl for the test), and a real SMTP server (smtp-server, the nodemailer
 * project's server) that records every mail and login. All bound to 127.0.0.1 on free ports.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedRequest {
  path: string;
  body: unknown;
}

export interface HttpSink {
  url(pathname: string): string;
  received: ReceivedRequest[];
  on(pathname: string): ReceivedRequest[];
  close(): Promise<void>;
}

function handler(received: ReceivedRequest[], hanging: http.ServerResponse[]) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* kept as text */
      }
      const pathname = (req.url ?? '/').split('?')[0]!;
      received.push({ path: pathname, body });
      if (pathname.startsWith('/fail')) {
        res.writeHead(500, 'Internal Server Error', { 'content-type': 'text/plain' });
        res.end('sink says no');
      } else if (pathname.startsWith('/hang')) {
        hanging.push(res); // never answered
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      }
    });
  };
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function sinkOf(server: http.Server | https.Server, scheme: string, port: number, received: ReceivedRequest[], hanging: http.ServerResponse[]): HttpSink {
  return {
    url: (pathname) => `${scheme}://127.0.0.1:${port}${pathname}`,
    received,
    on: (pathname) => received.filter((r) => r.path === pathname),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function startHttpSink(): Promise<HttpSink> {
  const received: ReceivedRequest[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer(handler(received, hanging));
  return sinkOf(server, 'http', await listen(server), received, hanging);
}

/** An HTTPS endpoint whose certificate is self-signed: a client that verifies certificates must refuse it. */
export async function startSelfSignedHttpsSink(): Promise<HttpSink> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-alert-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const received: ReceivedRequest[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, handler(received, hanging));
  fs.rmSync(dir, { recursive: true, force: true });
  return sinkOf(server, 'https', await listen(server), received, hanging);
}

export interface ReceivedMail {
  from: string | undefined;
  to: string[];
  raw: string;
  user: string | undefined;
}

export interface SmtpSink {
  port: number;
  mails: ReceivedMail[];
  logins: Array<{ username: string; password: string }>;
  close(): Promise<void>;
}

/** Plain SMTP on loopback (STARTTLS off), login accepted and recorded, every message kept. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  const logins: Array<{ username: string; password: string }> = [];
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: typeof session.user === 'string' ? session.user : undefined,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    logins,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
