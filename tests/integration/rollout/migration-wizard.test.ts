// The rollout's phase 3 against real OpenSSH servers in two network namespaces: host "mig1" allows forwarding, host
// "mig2" refuses both TCP and Unix-socket forwarding. Five direct-ssh events (four on mig1, one on mig2): checking
// changes nothing; the user consents to all five and four switch while the one on mig2 stays with its reason; a test
// run goes through a real runner without changing the event; every switch is in the audit log; undo puts all four
// back. Users k162 (mig1) and k163 (mig2) are this suite's.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, type NetHost } from '../../harness/netns';
import type { SshdHandle, SshdKeyUser } from '../../harness/sshd';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { addServer, requireRunnerBuild, resetHome, saveEvent } from '../runner-exec/runner-exec-fixtures';
import type { MigrationScanView } from '../../../src-shared/contract/rollout';

let hostA: NetHost;
let hostB: NetHost;
let sshdA: SshdHandle;
let sshdB: SshdHandle;
let userA: SshdKeyUser;
let userB: SshdKeyUser;
let tc: TestCore;
let serverA: string;
let serverB: string;
const ids: Record<string, string> = {};

function auditRows(action: string): Array<{ subject: string; detail: string }> {
  return tc.core.db.sqlite.prepare('SELECT subject, detail FROM audit_log WHERE action = ? ORDER BY id').all(action) as Array<{ subject: string; detail: string }>;
}

async function modes(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [key, id] of Object.entries(ids)) out[key] = (await tc.core.events.get(id)).executionMode;
  return out;
}

beforeAll(async () => {
  requireRunnerBuild();
  hostA = await createHost('mig1', 261);
  hostB = await createHost('mig2', 262);
  sshdA = await hostA.startSshd({ users: 1, firstUser: 162 });
  sshdB = await hostB.startSshd({ users: 1, firstUser: 163, allowStreamLocalForwarding: false, allowTcpForwarding: false });
  [userA] = sshdA.extraUsers;
  [userB] = sshdB.extraUsers;
  resetHome(userA);
  resetHome(userB);
  tc = await createTestCore();
  await tc.core.start();
  serverA = await addServer(tc.core, sshdA, userA, 'mig-open');
  serverB = await addServer(tc.core, sshdB, userB, 'mig-closed');
  const direct = { executionMode: 'direct-ssh' as const };
  ids.backup = (await saveEvent(tc.core, serverA, { ...direct, name: 'backup', scriptType: 'bash', content: 'echo backing up' })).id;
  ids.report = (await saveEvent(tc.core, serverA, { ...direct, name: 'report', scriptType: 'bash', content: 'cronium_output "{\\"rows\\": 3}"\necho "greeting=$(cronium_get_variable greeting)"' })).id;
  ids.cleanup = (await saveEvent(tc.core, serverA, { ...direct, name: 'cleanup', scriptType: 'python', content: 'print("cleaning")' })).id;
  ids.sync = (await saveEvent(tc.core, serverA, { ...direct, name: 'sync', scriptType: 'node', content: 'console.log("syncing")' })).id;
  ids.closed = (await saveEvent(tc.core, serverB, { ...direct, name: 'closed-host job', scriptType: 'bash', content: 'echo on the closed host' })).id;
}, 180_000);

afterAll(async () => {
  await tc?.cleanup();
  if (userA) resetHome(userA);
  if (userB) resetHome(userB);
  await hostA?.destroy();
  await hostB?.destroy();
});

describe('the migration wizard', () => {
  let scan: MigrationScanView;
  let batchId: string;

  describe('when the user checks the events still in direct-ssh', () => {
    it('probes both hosts and says per event what changes and what blocks it, changing nothing', async () => {
      const versions = await Promise.all(Object.values(ids).map(async (id) => (await tc.core.events.get(id)).version));
      scan = await tc.core.migration.scan();

      expect(scan.globalBlocker).toBeNull();
      expect(scan.events.map((e) => e.name).sort()).toEqual(['backup', 'cleanup', 'closed-host job', 'report', 'sync']);
      const open = scan.targets.find((t) => t.serverId === serverA)!;
      const closed = scan.targets.find((t) => t.serverId === serverB)!;
      expect(open).toMatchObject({ reachable: true, os: 'linux', arch: 'x64', tcpForwarding: true, unixSocketForwarding: true, blockers: [] });
      expect(open.freeMb).toBeGreaterThan(open.neededMb!);
      expect(open.neededMb).toBeGreaterThan(0);
      expect(closed).toMatchObject({ reachable: true, tcpForwarding: false, unixSocketForwarding: false });
      expect(closed.blockers).toEqual([expect.stringMatching(/mig-closed refuses both TCP and Unix-socket forwarding/)]);

      const byName = new Map(scan.events.map((e) => [e.name, e]));
      for (const name of ['backup', 'report', 'cleanup', 'sync']) expect(byName.get(name)).toMatchObject({ ready: true, blockers: [] });
      expect(byName.get('report')!.helpers).toEqual(['cronium_get_variable', 'cronium_output']);
      expect(byName.get('report')!.changes.join('\n')).toMatch(/helpers it calls \(cronium_get_variable, cronium_output\) are answered live/);
      expect(byName.get('backup')!.changes.join('\n')).toMatch(/Unix socket in the job's own folder on mig-open/);
      expect(byName.get('closed-host job')).toMatchObject({ ready: false });
      expect(byName.get('closed-host job')!.blockers[0]).toMatch(/refuses both TCP and Unix-socket forwarding/);

      // The forwarding probe gave back what it asked for: no probe socket is left on either server.
      for (const u of [userA, userB]) {
        const dir = path.join(u.home, '.cronium');
        expect(fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('.forward-probe')) : []).toEqual([]);
      }
      // Nothing changed: every event still direct-ssh at the same version, no switch recorded.
      expect(Object.values(await modes())).toEqual(Array(5).fill('direct-ssh'));
      expect(await Promise.all(Object.values(ids).map(async (id) => (await tc.core.events.get(id)).version))).toEqual(versions);
      expect(auditRows('event.mode.migrated')).toEqual([]);
    }, 120_000);
  });

  describe('when the user test-runs an event in runner mode first', () => {
    it('runs it through a real runner and leaves the event as it was', async () => {
      const { jobs } = await tc.core.migration.testRun(ids.report);
      expect(jobs).toHaveLength(1);
      const done = await tc.core.jobs.waitForJob(jobs[0].id);
      expect(done).toMatchObject({ status: 'SUCCESS', executionMode: 'runner-ssh' });
      expect((await tc.core.events.get(ids.report)).executionMode).toBe('direct-ssh');
    }, 180_000);
  });

  describe('when the user consents to all five', () => {
    it('switches the four that can move, leaves the blocked one with its reason, and records each switch', async () => {
      const result = await tc.core.migration.apply(scan.scanId, Object.values(ids), 'auto');
      expect(result.batchId).not.toBeNull();
      batchId = result.batchId!;
      expect(result.switched.map((s) => s.name).sort()).toEqual(['backup', 'cleanup', 'report', 'sync']);
      expect(result.switched.every((s) => s.from === 'direct-ssh' && s.to === 'auto')).toBe(true);
      expect(result.skipped).toEqual([{ eventId: ids.closed, name: 'closed-host job', reason: expect.stringMatching(/refuses both TCP and Unix-socket forwarding/) }]);
      expect(await modes()).toEqual({ backup: 'auto', report: 'auto', cleanup: 'auto', sync: 'auto', closed: 'direct-ssh' });

      const audit = auditRows('event.mode.migrated');
      expect(audit.map((a) => a.subject).sort()).toEqual([ids.backup, ids.report, ids.cleanup, ids.sync].sort());
      expect(JSON.parse(audit[0].detail)).toMatchObject({ from: 'direct-ssh', to: 'auto', batchId });
      expect(await tc.core.migration.batches()).toEqual([expect.objectContaining({ batchId, total: 4, active: 4 })]);
    }, 60_000);

    it('refuses to apply the same check again to an event edited since', async () => {
      const again = await tc.core.migration.apply(scan.scanId, [ids.backup], 'auto');
      expect(again.batchId).toBeNull();
      expect(again.skipped[0].reason).toMatch(/edited since it was checked/);
    });
  });

  describe('when the user undoes the batch', () => {
    it('puts each of the four back to direct-ssh and records it', async () => {
      const undone = await tc.core.migration.undo(batchId);
      expect(undone.restored.map((r) => r.name).sort()).toEqual(['backup', 'cleanup', 'report', 'sync']);
      expect(undone.restored.every((r) => r.mode === 'direct-ssh')).toBe(true);
      expect(undone.skipped).toEqual([]);
      expect(Object.values(await modes())).toEqual(Array(5).fill('direct-ssh'));
      expect(auditRows('event.mode.migration-undone')).toHaveLength(4);
      expect(await tc.core.migration.batches()).toEqual([expect.objectContaining({ batchId, total: 4, active: 0 })]);
      // A second undo has nothing left to do.
      expect(await tc.core.migration.undo(batchId)).toEqual({ restored: [], skipped: [] });
    }, 60_000);
  });
});
