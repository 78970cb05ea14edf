// Issue 18: a deploy's handshake (`version`, a Node start with the bundle on the server) runs once per bundle and node
// (real path, `node -v`, platform): a later server with that same node gets those same verified bytes and is not made
// to start Node again. A server whose node is another one proves the bundle itself, and a bundle that cannot run there
// is still refused and rolled back, even after it passed on other servers; so is a bundle whose remembered answer
// does not match the version it is signed as.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle, type SshdKeyUser } from '../../harness/sshd';
import { addServer, fileSha256, makeNoNodeBin, resetRunnerHome, startRunnerBench, type RunnerBench } from './runner-fixtures';

/** Harness users cronium-k490..k492: this suite's alone (k492 runs a node of its own, see below). */
const FIRST_USER = 490;

let sshd: SshdHandle;
let bench: RunnerBench;
let users: SshdKeyUser[];
let ownNodeBin: string;
const bundlePath = (u: SshdKeyUser, v: string) => path.join(u.home, '.cronium/runners', v, 'cronium-runner.cjs');

/** The handshake progress messages of the last deploy to `serverId`. */
function handshakeSteps(serverId: string): string[] {
  return bench.events.filter((e) => e.name === 'runners/progress' && e.payload.serverId === serverId && e.payload.step === 'handshake').map((e) => e.payload.message as string);
}

beforeAll(async () => {
  // k492's node: a root-owned wrapper of the real one in a folder of its own. It answers `-v` as the real node does,
  // but cannot start runner 1.0.1 (as a node that cannot run what that bundle needs would).
  ownNodeBin = makeNoNodeBin();
  const wrapper = path.join(ownNodeBin, 'node');
  const real = fs.realpathSync('/usr/bin/node');
  fs.writeFileSync(wrapper, `#!/bin/sh\ncase "$*" in *"/1.0.1/"*) echo 'node: cannot start this script (simulated)' >&2; exit 134 ;; esac\nexec ${real} "$@"\n`, { mode: 0o755 });
  sshd = await startSshd({ users: 3, firstUser: FIRST_USER, extraConfig: [`Match User cronium-k${FIRST_USER + 2}`, `    SetEnv PATH=${ownNodeBin}`] });
  users = sshd.extraUsers;
  for (const u of users) resetRunnerHome(u);
  bench = await startRunnerBench();
}, 120_000);

afterAll(async () => {
  await bench?.stop();
  for (const u of users ?? []) resetRunnerHome(u);
  await sshd?.stop();
  if (ownNodeBin) fs.rmSync(ownNodeBin, { recursive: true, force: true });
});

describe('the deploy handshake', () => {
  const ids: string[] = [];

  it('starts the bundle on the first server, not again on a second with the same node; both runners run', async () => {
    ids.push(await addServer(bench.tc.core, sshd, users[0]!, 'proof-a'), await addServer(bench.tc.core, sshd, users[1]!, 'proof-b'), await addServer(bench.tc.core, sshd, users[2]!, 'proof-c'));
    bench.events.length = 0;
    const a = await bench.runners.deployRunner(ids[0]!, '1.0.0');
    expect(a).toMatchObject({ status: 'active', version: '1.0.0', kind: 'js' });
    expect(handshakeSteps(ids[0]!)).toEqual([expect.stringMatching(/^Running 1\.0\.0 version on proof-a/)]);

    const b = await bench.runners.deployRunner(ids[1]!, '1.0.0');
    expect(b).toMatchObject({ status: 'active', version: '1.0.0', kind: 'js', capabilities: a.capabilities });
    expect(handshakeSteps(ids[1]!)).toEqual([expect.stringMatching(/^1\.0\.0 already passed its handshake under node v\d+.*proof-b has exactly its bytes/)]);
    // Exactly the signed bytes are there, and the runner runs: its first health check is a real start on the server.
    expect(fileSha256(bundlePath(users[1]!, '1.0.0'))).toBe(b.sha256);
    const health = await bench.runners.checkRunnerHealth(b.id);
    expect(health.state).not.toBe('unknown');
    expect(health.reason ?? '').not.toMatch(/health check failed/);

    // 1.0.2 is 1.0.0's very bytes signed as 1.0.2: what those bytes said under this node is checked against 1.0.2.
    const lie = await bench.runners.upgrade(ids[1]!, '1.0.2');
    expect(lie.rolledBack).toBe(true);
    expect(lie.reason).toMatch(/handshake: it reports version 1\.0\.0, expected 1\.0\.2/);
    expect(lie.deployment).toMatchObject({ version: '1.0.0', status: 'active' });
  }, 120_000);

  it('makes a server whose node is another one prove the bundle itself, and refuses and rolls back one that cannot run there', async () => {
    // 1.0.1 passes on proof-a (the real node)...
    const upA = await bench.runners.upgrade(ids[0]!, '1.0.1');
    expect(upA).toMatchObject({ rolledBack: false, deployment: { version: '1.0.1', status: 'active' } });
    // ...and proof-c's node (another path) runs 1.0.0, which it proves itself.
    bench.events.length = 0;
    await bench.runners.deployRunner(ids[2]!, '1.0.0');
    expect(handshakeSteps(ids[2]!)).toEqual([expect.stringMatching(/^Running 1\.0\.0 version on proof-c/)]);

    // 1.0.1 cannot start under proof-c's node: refused although it passed on proof-a, and 1.0.0 is back.
    const upC = await bench.runners.upgrade(ids[2]!, '1.0.1');
    expect(upC.rolledBack).toBe(true);
    expect(upC.reason).toMatch(/handshake: `version` exited 134 \(node: cannot start this script \(simulated\)\)/);
    expect(upC.deployment).toMatchObject({ version: '1.0.0', status: 'active' });
    const failed = (await bench.runners.listDeployments(ids[2]!)).find((d) => d.version === '1.0.1');
    expect(failed).toMatchObject({ status: 'failed', reason: expect.stringMatching(/handshake/) });
  }, 180_000);
});
