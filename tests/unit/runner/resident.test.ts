/**
 * The resident runner's own parts, in-process: its scheduler on a fake clock (the DST test: `30 2 * * *` in
 * Europe/Berlin across 2027-03-28, when 02:00-03:00 does not exist, fires once, at 03:00 CEST = 01:00 UTC, the time
 * docs/architecture.md and schedule-math.ts document, and the same time the app's scheduler math gives), the misfire
 * policy after downtime, and the signed manifest (a good one installs; a bad signature or an edit on disk is refused).
 */
import { generateKeyPairSync, createHash, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nextResidentFire, ResidentScheduler, type ResidentClock } from '../../../src-runner/resident/resident-scheduler';
import { installManifest, loadManifest, MANIFEST_FILE } from '../../../src-runner/resident/manifest';
import { compileSchedule } from '../../../src-main/core/scheduler/schedule-math';
import { residentSignedString, type ResidentManifest, type ResidentSchedule } from '../../../src-shared/protocol/resident';

/** A clock the test moves: timers fire when `advanceTo` passes their time, in order. */
class FakeClock implements ResidentClock {
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => (timer.live = false) };
  }
  advanceTo(target: number): void {
    for (;;) {
      const next = this.timers.filter((x) => x.live && x.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      next.live = false;
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = target;
  }
}

function schedule(over: Partial<ResidentSchedule> = {}): ResidentSchedule {
  return {
    id: 'ev1', name: 'backup', version: 1, spec: { kind: 'cron', expression: '30 2 * * *' }, timeZone: 'Europe/Berlin', misfirePolicy: 'run_once',
    misfireWindowSeconds: 86400, overlapPolicy: 'allow', payload: 'a'.repeat(64), timeoutSeconds: 60, activeSince: '2027-03-26T00:00:00.000Z', ...over,
  };
}

function run(clock: FakeClock, s: ResidentSchedule, until: number, last = new Map<string, number>()) {
  const fired: Array<{ at: string; decision: string; firedAt: string }> = [];
  const sched = new ResidentScheduler({
    clock, lastHandled: last, persist: () => undefined,
    fire: (_s, t, decision) => fired.push({ at: new Date(t).toISOString(), decision, firedAt: new Date(clock.now()).toISOString() }),
  });
  sched.load([s]);
  // Walk in 7-minute steps, as a sleeping-and-waking server's timers would, never jumping over a fire.
  while (clock.now() < until) clock.advanceTo(Math.min(until, clock.now() + 7 * 60_000));
  sched.stop();
  return fired;
}

describe('resident scheduler (fake clock)', () => {
  it('fires 02:30 Europe/Berlin once on 2027-03-28 (no 02:30 that day): at 03:00 CEST, like the app', () => {
    const clock = new FakeClock(Date.parse('2027-03-27T12:00:00Z'));
    const fired = run(clock, schedule({ activeSince: '2027-03-27T11:00:00Z' }), Date.parse('2027-03-29T12:00:00Z'));
    expect(fired.map((f) => f.at)).toEqual(['2027-03-28T01:00:00.000Z', '2027-03-29T00:30:00.000Z']);
    expect(fired.every((f) => f.decision === 'fire' && f.firedAt === f.at)).toBe(true);
    // The same library semantics as the app's scheduler:
    const app = compileSchedule({ kind: 'cron', expression: '30 2 * * *' }, 'Europe/Berlin');
    expect(new Date(app.next(Date.parse('2027-03-27T12:00:00Z'))!).toISOString()).toBe('2027-03-28T01:00:00.000Z');
  });

  it('a seconds field fires every 10 s on time', () => {
    const clock = new FakeClock(Date.parse('2027-01-01T00:00:01Z'));
    const fired = run(clock, schedule({ spec: { kind: 'cron', expression: '*/10 * * * * *' }, timeZone: 'UTC', activeSince: '2027-01-01T00:00:00Z' }), Date.parse('2027-01-01T00:00:35Z'));
    expect(fired.map((f) => f.at.slice(11, 19))).toEqual(['00:00:10', '00:00:20', '00:00:30']);
  });

  it('after downtime, run_once runs the latest missed time and records the others as skipped; skip runs none', () => {
    const last = new Map([['ev1', Date.parse('2027-01-01T00:00:00Z')]]);
    const s = schedule({ spec: { kind: 'cron', expression: '0 * * * *' }, timeZone: 'UTC', activeSince: '2026-12-31T00:00:00Z' });
    const clock = new FakeClock(Date.parse('2027-01-01T03:30:00Z'));
    const once = run(clock, s, clock.now() + 1000, new Map(last));
    expect(once.filter((f) => f.decision === 'catch_up').map((f) => f.at)).toEqual(['2027-01-01T03:00:00.000Z']);
    expect(once.filter((f) => f.decision === 'skipped_misfire')).toHaveLength(2);
    const clock2 = new FakeClock(Date.parse('2027-01-01T03:30:00Z'));
    const skip = run(clock2, { ...s, misfirePolicy: 'skip' }, clock2.now() + 1000, new Map(last));
    expect(skip.filter((f) => f.decision !== 'skipped_misfire')).toHaveLength(0);
  });
});

describe('resident next fire (what `resident status` reports)', () => {
  it('is the time the daemon fires next, also for a schedule not active yet and after downtime', () => {
    const s = schedule({ spec: { kind: 'cron', expression: '0 * * * *' }, timeZone: 'UTC', activeSince: '2027-01-01T05:10:00Z' });
    const now = Date.parse('2027-01-01T03:30:00Z');
    // Not active until 05:10: the first fire is 06:00, not 04:00.
    expect(new Date(nextResidentFire(s, undefined, now)!).toISOString()).toBe('2027-01-01T06:00:00.000Z');
    const clock = new FakeClock(now);
    expect(run(clock, s, Date.parse('2027-01-01T06:30:00Z')).map((f) => f.at)).toEqual(['2027-01-01T06:00:00.000Z']);
    // Missed times are the daemon's to handle at once; what comes next is after now.
    const active = { ...s, activeSince: '2026-12-31T00:00:00Z' };
    expect(new Date(nextResidentFire(active, Date.parse('2027-01-01T00:00:00Z'), now)!).toISOString()).toBe('2027-01-01T04:00:00.000Z');
    expect(nextResidentFire({ ...s, timeZone: 'Not/AZone' }, undefined, now)).toBeNull();
  });
});

describe('resident manifest', () => {
  const homes: string[] = [];
  afterEach(() => {
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });

  function request(text: string, keyPair = generateKeyPairSync('ed25519')) {
    const sha256 = createHash('sha256').update(text).digest('hex');
    return {
      keyPair,
      json: JSON.stringify({
        manifest: text,
        signature: { sha256, keyId: 'ed25519:test', signature: sign(null, Buffer.from(residentSignedString(sha256)), keyPair.privateKey).toString('base64') },
        publicKeyPem: keyPair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      }),
    };
  }
  const manifest: ResidentManifest = { formatVersion: 1, issuedAt: '2027-01-01T00:00:00Z', serverId: 's1', schedules: [schedule()] };

  it('installs a well-signed manifest and loads it back', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'resident-'));
    homes.push(home);
    const env = { CRONIUM_RUNNER_HOME: home };
    installManifest(request(JSON.stringify(manifest)).json, env);
    const loaded = loadManifest(env);
    expect(loaded.ok && loaded.manifest.schedules[0].id).toBe('ev1');
  });

  it('refuses a bad signature (nothing written) and a manifest altered on disk (reported, nothing fires)', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'resident-'));
    homes.push(home);
    const env = { CRONIUM_RUNNER_HOME: home };
    const good = JSON.parse(request(JSON.stringify(manifest)).json);
    const forged = JSON.stringify({ ...good, manifest: JSON.stringify({ ...manifest, serverId: 'evil' }) });
    expect(() => installManifest(forged, env)).toThrow(/signature/);
    expect(fs.existsSync(path.join(home, 'resident', MANIFEST_FILE))).toBe(false);
    installManifest(JSON.stringify(good), env);
    fs.writeFileSync(path.join(home, 'resident', MANIFEST_FILE), JSON.stringify({ ...manifest, schedules: [] }));
    const loaded = loadManifest(env);
    expect(loaded.ok).toBe(false);
    expect(!loaded.ok && loaded.error).toMatch(/does not verify/);
  });
});
