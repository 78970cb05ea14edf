// The services that used to read the real clock now take the injected one: runner/automation token times, the log
// write batching and commit pacing, and the SSH connect / probe timeouts all move only when a ManualClock advances.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { EventBus } from '../../../src-main/core/event-bus';
import { ListenerAuth } from '../../../src-main/core/listener/auth';
import { LogAggregator, BUSY_COMMIT_LINES, BUSY_COMMIT_MS, COMMIT_WITHIN_MS } from '../../../src-main/core/logs/log-aggregator';
import { LogSinkImpl } from '../../../src-main/core/logs/log-sink';
import { FLUSH_INTERVAL_MS, LogStore } from '../../../src-main/core/logs/log-store';
import { createMetrics } from '../../../src-main/core/metrics/metrics';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { SshConnection } from '../../../src-main/core/ssh/ssh-connection';
import { probeHostKey } from '../../../src-main/core/ssh/host-key';
import { ErrorCode } from '../../../src-shared/errors';
import { ManualClock } from '../../harness/manual-clock';
import { MIGRATIONS_DIR } from '../../harness/test-core';

/** Far from the real date, so a service still reading the real clock would disagree with this one. */
const T0 = Date.parse('2020-02-03T04:05:06.000Z');

/** Whether `promise` has settled after the event loop had a few turns. */
async function settledSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  return settled;
}

describe('ListenerAuth on the injected clock', () => {
  it('mints iat/exp from the clock and checks expiry against it', async () => {
    const clock = new ManualClock(T0);
    const auth = new ListenerAuth({ settings: { helperJwtSecretFromEnv: () => 'k'.repeat(40) }, secrets: new MemorySecretStore(), clock });
    const token = await auth.mintToken({ aud: 'automation', sub: 'script' }, 60);
    const verified = await auth.verifyToken(token, 'automation');
    expect(verified.iat).toBe(Math.floor(T0 / 1000));
    expect(verified.exp - verified.iat).toBe(60);
    clock.set(T0 + 61_000);
    await expect(auth.verifyToken(token, 'automation')).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED, message: /expired/ });
  });
});

describe('log writing on the injected clock', () => {
  let dir: string;
  let db: AppDatabase;
  let clock: ManualClock;
  let store: LogStore;
  let logId: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-clocked-logs-'));
    db = openDatabase(path.join(dir, 'db.sqlite'), MIGRATIONS_DIR);
    const at = new Date(T0).toISOString();
    await db.kysely.insertInto('jobs').values({ id: 'job-1', status: 'RUNNING', created_at: at, updated_at: at } as never).execute();
    clock = new ManualClock(T0);
    store = new LogStore(db, new EventBus(), clock);
    logId = await store.create({ jobId: 'job-1', eventId: null, serverId: null });
  });

  afterEach(() => {
    store.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const line = (seq: number) => ({ seq, stream: 'stdout' as const, ts: new Date(T0).toISOString(), text: `line ${seq}` });
  // Read straight from SQLite: store.lines() would flush first.
  const storedCount = async () => (db.sqlite.prepare('SELECT coalesce(sum(line_count), 0) AS n FROM log_blocks WHERE log_id = ?').get(logId) as { n: number }).n;

  it('writes the first line at once, then batches the next until FLUSH_INTERVAL_MS has passed on the clock', async () => {
    store.append(logId, line(1));
    await settledSoon(Promise.resolve());
    expect(await storedCount()).toBe(1);

    store.append(logId, line(2));
    await settledSoon(Promise.resolve());
    expect(await storedCount()).toBe(1);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(FLUSH_INTERVAL_MS - 1);
    expect(await storedCount()).toBe(1);
    await clock.advance(1);
    expect(await storedCount()).toBe(2);
    const row = await db.kysely.selectFrom('logs').select('updated_at').where('id', '=', logId).executeTakeFirstOrThrow();
    expect(row.updated_at).toBe(new Date(T0 + FLUSH_INTERVAL_MS).toISOString());
  });

  it("acknowledges a runner batch only once the aggregator's commit time has passed on the store's clock", async () => {
    const sink = new LogSinkImpl(logId, store, []);
    const aggregator = new LogAggregator(sink, store, createMetrics(), 0);
    const durable: number[] = [];
    aggregator.onDurable((seq) => durable.push(seq));
    const wire = (seq: number) => ({ seq, stream: 'stdout' as const, ts: new Date(T0).toISOString(), text: `runner ${seq}` });

    aggregator.accept([wire(1)]);
    expect(durable).toEqual([1]);
    aggregator.accept([wire(2)]);
    await settledSoon(Promise.resolve());
    expect(durable).toEqual([1]);
    await clock.advance(COMMIT_WITHIN_MS);
    expect(durable).toEqual([1, 2]);
    aggregator.close();
  });

  it('commits BUSY_COMMIT_MS apart after a commit of BUSY_COMMIT_LINES lines, and COMMIT_WITHIN_MS apart again after a small one', async () => {
    const sink = new LogSinkImpl(logId, store, []);
    const aggregator = new LogAggregator(sink, store, createMetrics(), 0);
    const durable: number[] = [];
    aggregator.onDurable((seq) => durable.push(seq));
    const wire = (seq: number) => ({ seq, stream: 'stdout' as const, ts: new Date(T0).toISOString(), text: `runner ${seq}` });

    aggregator.accept(Array.from({ length: BUSY_COMMIT_LINES }, (_, i) => wire(i + 1)));
    expect(durable).toEqual([BUSY_COMMIT_LINES]);
    aggregator.accept([wire(BUSY_COMMIT_LINES + 1)]);
    await clock.advance(COMMIT_WITHIN_MS);
    expect(durable).toEqual([BUSY_COMMIT_LINES]);
    await clock.advance(BUSY_COMMIT_MS - COMMIT_WITHIN_MS);
    expect(durable).toEqual([BUSY_COMMIT_LINES, BUSY_COMMIT_LINES + 1]);
    // That commit carried one line: the next one is back to COMMIT_WITHIN_MS.
    aggregator.accept([wire(BUSY_COMMIT_LINES + 2)]);
    await clock.advance(COMMIT_WITHIN_MS);
    expect(durable).toEqual([BUSY_COMMIT_LINES, BUSY_COMMIT_LINES + 1, BUSY_COMMIT_LINES + 2]);
    aggregator.close();
  });
});

describe('SSH timeouts on the injected clock', () => {
  let silent: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();

  beforeEach(async () => {
    // Accepts TCP and never says a word: only a timeout ends a handshake with it.
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as net.AddressInfo).port;
  });

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('gives up probing a host key when the timeout has passed on the clock, not before', async () => {
    const clock = new ManualClock(T0);
    const probe = probeHostKey('127.0.0.1', port, 5_000, clock);
    expect(await settledSoon(probe)).toBe(false);
    await clock.advance(4_999);
    expect(await settledSoon(probe)).toBe(false);
    await clock.advance(1);
    await expect(probe).rejects.toMatchObject({ message: expect.stringMatching(/./) });
  });

  it('gives up connecting when connectTimeoutMs has passed on the clock, not before', async () => {
    const clock = new ManualClock(T0);
    const opening = SshConnection.open(
      { serverId: 's1', name: 'silent', host: '127.0.0.1', port, username: 'nobody', auth: { type: 'password', password: 'x' }, pinnedFingerprint: null },
      { connectTimeoutMs: 8_000, livenessIntervalMs: 0, livenessTimeoutMs: 1_000, idleCloseMs: 0, clock },
    );
    expect(await settledSoon(opening)).toBe(false);
    await clock.advance(7_999);
    expect(await settledSoon(opening)).toBe(false);
    await clock.advance(1);
    await expect(opening).rejects.toBeDefined();
    expect(clock.pendingTimers).toBe(0);
  });
});
