/**
 * The change list's payload, helper and log-stream routes on the local listener, for runners and automation:
 *   POST /api/payloads/generate            {eventId}        automation   -> builds (or reuses) the event's payload
 *   GET  /api/payloads/:id/download                         automation   -> the signed archive
 *   POST /api/helpers/variables/:id        {op,key,value?}  automation   -> getVariable / setVariable as job :id
 *   GET  /api/helpers/download/:type/:version               automation   -> a helper shim (bash|python|node)
 *   WS   /api/logs/stream/:logId?after=N                    automation   -> stored lines after N, then live lines
 *   POST /api/logs/:logId/partial          {lines}          automation   -> lines over HTTP for the log's running job
 * Every route checks a bearer token from the headers before its body is read; none returns a secret or a path of
 * this workstation. No HTTP route takes a runner token: a runner token can be overheard by a local user who squats
 * an old tunnel port, so it opens only the runner WebSocket, whose handshake also needs the job key (channel-auth.ts);
 * the runner sends its lines and helper calls there.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { AppError } from '../errors';
import type { AppDatabase } from '../db/database';
import type { EventService } from '../events/event-service';
import type { EventBus } from '../event-bus';
import type { LogStore } from '../logs/log-store';
import type { PayloadService } from '../payloads/payload-service';
import type { JobHelpers } from '../execution/job-helpers';
import { BASH_SHIM, NODE_SHIM, PYTHON_SHIM } from '../payloads/helper-shims';
import { isFinalLogStatus } from '../jobs/job-state-machine';
import { bearerToken, type ListenerAuth } from './auth';
import type { LocalListener } from './local-listener';
import type { RunnerStreamHub } from './runner-websocket';
import { LogMessage, PAYLOAD_FORMAT_VERSION } from '../../../src-shared/protocol/runner-wire';
import type { LogLine, LogStatus } from '../../../src-shared/contract/logs';

export interface StreamingRouteDeps {
  listener: LocalListener;
  auth: ListenerAuth;
  db: AppDatabase;
  bus: EventBus;
  logs: LogStore;
  events: Pick<EventService, 'getForRun'>;
  payloads: PayloadService;
  hub: RunnerStreamHub;
  /** Job-level helper answers (the job's event, getVariable / setVariable), shared with the runner's socket. */
  helpers: Pick<JobHelpers, 'eventOf' | 'getVariable' | 'setVariable'>;
}

const VariableRequest = z.discriminatedUnion('op', [
  z.object({ op: z.literal('get'), key: z.string().min(1).max(256) }),
  z.object({ op: z.literal('set'), key: z.string().min(1).max(256), value: z.string().max(1024 * 1024), scope: z.enum(['global', 'event']).optional(), secret: z.boolean().optional() }),
]);

const SHIMS: Record<string, { body: string; contentType: string }> = {
  bash: { body: BASH_SHIM, contentType: 'text/x-shellscript; charset=utf-8' },
  python: { body: PYTHON_SHIM, contentType: 'text/x-python; charset=utf-8' },
  node: { body: NODE_SHIM, contentType: 'application/javascript; charset=utf-8' },
};

const REPLAY_PAGE = 5000;

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new AppError('INVALID_INPUT', `The request body is not valid: ${first?.path.join('.') || 'body'}: ${first?.message ?? 'invalid'}.`);
  }
  return r.data;
}

export function registerStreamingRoutes(d: StreamingRouteDeps): void {
  const { listener, auth } = d;
  const automation = auth.bearer('automation');

  listener.addRoute('POST', '/api/payloads/generate', async ({ body }) => {
    const { eventId } = parse(z.object({ eventId: z.string().min(1) }), body);
    const snapshot = await d.events.getForRun(eventId);
    const p = await d.payloads.generatePayload(snapshot.event);
    return { status: 200, json: { id: p.id, eventId: p.eventId, eventVersion: p.eventVersion, checksum: p.checksum, sizeBytes: p.sizeBytes, keyId: p.signature.keyId } };
  }, { auth: automation, maxBodyBytes: 4 * 1024 });

  listener.addRoute('GET', '/api/payloads/:id/download', async ({ params }) => {
    const p = await d.payloads.getById(params.id);
    if (!p) throw new AppError('NOT_FOUND', `There is no payload ${params.id} (it may have been cleaned up after RUNNER_CACHE_TTL_DAYS).`);
    return {
      status: 200,
      body: await readFile(p.path),
      contentType: 'application/gzip',
      headers: { 'x-payload-checksum': p.checksum, 'x-payload-signature': JSON.stringify(p.signature) },
    };
  }, { auth: automation });

  listener.addRoute('POST', '/api/helpers/variables/:id', async ({ params, body }) => {
    const req = parse(VariableRequest, body);
    const job = { jobId: params.id, ...(await d.helpers.eventOf(params.id)) };
    if (req.op === 'get') return { status: 200, json: { key: req.key, value: await d.helpers.getVariable(job, req.key) } };
    await d.helpers.setVariable(job, { key: req.key, value: req.value, scope: req.scope, secret: req.secret });
    return { status: 200, json: { key: req.key, ok: true } };
  }, { auth: automation, maxBodyBytes: 1024 * 1024 + 4096 });

  listener.addRoute('GET', '/api/helpers/download/:type/:version', async ({ params }) => {
    const shim = SHIMS[params.type];
    if (!shim) throw new AppError('NOT_FOUND', `There is no helper for ${params.type}; use bash, python or node.`);
    if (params.version !== String(PAYLOAD_FORMAT_VERSION)) throw new AppError('NOT_FOUND', `Helpers of payload format ${params.version} do not exist; this app has format ${PAYLOAD_FORMAT_VERSION}.`);
    return { status: 200, body: shim.body, contentType: shim.contentType };
  }, { auth: automation });

  /** The job a log belongs to; UNAUTHORIZED (not NOT_FOUND) for an unknown log, so ids cannot be probed. */
  const logJob = async (logId: string): Promise<string> => {
    const jobId = await d.logs.jobIdOf(logId);
    if (!jobId) throw new AppError('UNAUTHORIZED', 'This token does not belong to the job of this log.');
    return jobId;
  };

  listener.addRoute('POST', '/api/logs/:logId/partial', async ({ params, body }) => {
    const log = { job_id: await logJob(params.logId) };
    const msg = parse(LogMessage, { type: 'log', ...(body as object) });
    const r = d.hub.postLines(log.job_id, msg.lines);
    if (!r) throw new AppError('NOT_FOUND', `Job ${log.job_id} is not being run or re-attached by this app.`);
    return { status: r.gap ? 409 : 200, json: r };
  }, {
    // The token is checked before the log is looked up: an unauthenticated request costs no database read.
    auth: automation,
    maxBodyBytes: 4 * 1024 * 1024,
  });

  // The route authenticates before the upgrade; the route's handler is what keeps the log id.
  listener.addWebSocketRoute('/api/logs/stream/:logId', (ws, req, params) => {
    const logId = params.logId;
    const after = Number(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('after') ?? 0) || 0;
    let sent = after;
    let replaying = true;
    /** The log reached a final status while the replay ran: close once the replay is out, not before. */
    let endedDuringReplay = false;
    const held: LogLine[] = [];
    const send = (frame: unknown) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(frame));
    const sendLines = (lines: readonly LogLine[]) => {
      const fresh = lines.filter((l) => l.seq > sent);
      if (fresh.length === 0) return;
      sent = fresh[fresh.length - 1].seq;
      send({ type: 'lines', logId, lines: fresh });
    };
    const offLines = d.logs.onStored((id, runs) => {
      if (id !== logId) return;
      for (const lines of runs) {
        if (replaying) for (const line of lines) held.push(line);
        else sendLines(lines);
      }
    });
    const offStatus = d.bus.subscribe((name, payload) => {
      if (name !== 'logs/changed') return;
      const log = (payload as { log: { id: string; status: LogStatus } }).log;
      if (log.id !== logId) return;
      send({ type: 'status', logId, status: log.status });
      if (!isFinalLogStatus(log.status)) return;
      if (replaying) endedDuringReplay = true;
      else ws.close(1000, 'log complete');
    });
    ws.on('close', () => {
      offLines();
      offStatus();
    });
    void (async () => {
      try {
        const view = await d.logs.get(logId);
        send({ type: 'status', logId, status: view.status });
        for (;;) {
          const page = await d.logs.lines(logId, sent, REPLAY_PAGE);
          sendLines(page.lines);
          if (page.lines.length < REPLAY_PAGE) break;
        }
        replaying = false;
        sendLines(held.splice(0));
        if (endedDuringReplay || (isFinalLogStatus(view.status) && (await d.logs.get(logId)).lastSequence <= sent)) ws.close(1000, 'log complete');
      } catch (err) {
        send({ type: 'error', message: err instanceof AppError ? err.message : 'the log could not be read' });
        ws.close(1011, 'error');
      }
    })();
  }, {
    authenticate: async (req) => {
      await auth.verifyToken(bearerToken(req.headers), 'automation');
    },
  });
}
