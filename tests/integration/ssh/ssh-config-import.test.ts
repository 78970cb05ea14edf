// Issue 14, import from ~/.ssh/config: the sample config in fixtures/ssh-import (10 hosts, an Include, wildcard
// defaults, a ProxyJump, unsupported options, a Match block) and its known_hosts (a hashed entry, a host known_hosts
// disagrees on, a host whose Cronium pin differs) imported into a real core (SQLite file); then bad input, each
// named by file, line and host, with nothing saved.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestCore, type TestCore } from '../../harness/test-core';
import { isAppError } from '../../../src-main/core/errors';

const FIXTURE = path.join(__dirname, 'fixtures', 'ssh-import');
const FP = {
  bastion: 'SHA256:NcuG/5yE7NQwV92i7JNSUL6ck7WszQYkesdvQjv7XSQ',
  web1Hashed: 'SHA256:0dS3nvJllLz42IZ36T1KGd7g9aVPjwODuEteLXAGyfI',
  web2: 'SHA256:gCXVI64UvfuKQ2XH/lzSuk297XphZ+40RMzuQ6if/y8',
  cacheKnownHosts: 'SHA256:XgGVK5Fdf23/uTvhCgI3CEJ6ROosuzWbTBABh04YerM',
  cachePinnedInCronium: 'SHA256:ipQPeyv3UZwgzdP7szfqSe3snf6cQ4yRGBGUeIOuniY',
  monEd25519: 'SHA256:R681ENsMOA4VUaEPIo8KPGOBDXYsHOUb4BC3XInzQmU',
};

let tc: TestCore;
let home: string;

function makeHome(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-k12-home-'));
  fs.cpSync(FIXTURE, path.join(dir, '.ssh'), { recursive: true });
  fs.mkdirSync(path.join(dir, '.ssh', 'keys'), { mode: 0o700 });
  for (const name of ['bastion', 'default']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `k12-${name}`, '-f', path.join(dir, '.ssh', 'keys', name)]);
  }
  return dir;
}

const opts = (dir: string, extra: Record<string, unknown> = {}) => ({
  configPath: path.join(dir, '.ssh', 'config'), knownHostsPath: path.join(dir, '.ssh', 'known_hosts'), exclude: [], homeDir: dir, ...extra,
});

async function rejection(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (isAppError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  home = makeHome();
  tc = await createTestCore();
  // Already in Cronium before the import: "cache", pinned to a key known_hosts disagrees with.
  const cache = await tc.core.servers.save({
    name: 'cache', host: '10.30.0.7', port: 22, username: 'admin', authType: 'key',
    privateKey: fs.readFileSync(path.join(home, '.ssh', 'keys', 'default'), 'utf8'), tags: [], maxConcurrentJobs: 4,
  });
  await tc.core.servers.store.update(cache.id, { host_key_fingerprint: FP.cachePinnedInCronium, host_key_algorithm: 'ssh-ed25519' });
});

afterAll(async () => {
  await tc?.cleanup();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe('importing the sample ~/.ssh/config', () => {
  it('the preview shows what will be created or updated, what is not supported and why, and saves nothing', async () => {
    const before = (await tc.core.servers.list()).length;
    const preview = await tc.core.servers.importPreview(opts(home));
    expect((await tc.core.servers.list()).length).toBe(before);
    expect(preview.errors).toEqual([]);
    expect(preview.files).toEqual([expect.stringMatching(/\.ssh\/config$/), expect.stringMatching(/conf\.d\/10-team\.conf$/)]);
    const byAlias = Object.fromEntries(preview.servers.map((s) => [s.alias, s]));
    expect(Object.keys(byAlias).sort()).toEqual(['backup', 'bastion', 'cache', 'ci', 'db1', 'files.corp', 'legacy', 'mon', 'web1', 'web2']);
    expect(preview.servers.filter((s) => s.action === 'create')).toHaveLength(9);
    expect(byAlias.cache!.action).toBe('unchanged');

    // Wildcard defaults and first-value-wins, as ssh computes them.
    expect(byAlias.web2).toMatchObject({ host: '10.20.1.12', port: 2222, username: 'deploy', jumpHosts: ['bastion'], authType: 'key' });
    expect(byAlias['files.corp']).toMatchObject({ host: 'files.corp', username: 'corpuser' });
    expect(byAlias.backup).toMatchObject({ host: '10.30.0.6', port: 2200, username: 'admin', identityFile: '~/.ssh/keys/default' });
    expect(byAlias.bastion).toMatchObject({ identityFile: '~/.ssh/keys/bastion', identitiesOnly: true });

    // Host keys from known_hosts: plain, hashed, [host]:port, preferred algorithm, and the two kinds of mismatch.
    expect(byAlias.bastion!.hostKey).toMatchObject({ status: 'known', fingerprint: FP.bastion });
    expect(byAlias.web1!.hostKey).toMatchObject({ status: 'known', fingerprint: FP.web1Hashed, source: expect.stringContaining('(hashed)') });
    expect(byAlias.web2!.hostKey).toMatchObject({ status: 'known', fingerprint: FP.web2 });
    expect(byAlias.mon!.hostKey).toMatchObject({ status: 'known', fingerprint: FP.monEd25519, algorithm: 'ssh-ed25519' });
    expect(byAlias.db1!.hostKey).toMatchObject({ status: 'mismatch', fingerprint: null });
    expect(byAlias.db1!.hostKey.message).toMatch(/disagrees with itself.*lines 4 and 5/);
    expect(byAlias.cache!.hostKey).toMatchObject({ status: 'mismatch', fingerprint: FP.cacheKnownHosts });
    expect(byAlias.cache!.hostKey.message).toContain(`Cronium pins ${FP.cachePinnedInCronium}`);
    expect(byAlias.ci!.hostKey.status).toBe('unknown');

    const options = preview.unsupported.map((u) => `${u.option.split(' ')[0]}@${u.host ?? '*'}:${u.line}`);
    expect(options).toEqual(
      expect.arrayContaining(['Match@*:36', 'ForwardAgent@db1:25', 'ProxyCommand@legacy:29', 'ControlMaster@ci:34', 'ServerAliveInterval@*:47']),
    );
    expect(preview.unsupported.find((u) => u.option.startsWith('ProxyCommand'))!.why).toMatch(/only ProxyJump/);
  });

  it('applying creates exactly the expected servers, with jump hosts and the keys known_hosts offered', async () => {
    const result = await tc.core.servers.importApply(opts(home));
    expect(result.created.sort()).toEqual(['backup', 'bastion', 'ci', 'db1', 'files.corp', 'legacy', 'mon', 'web1', 'web2']);
    expect(result.updated).toEqual([]);
    const servers = await tc.core.servers.list();
    expect(servers.map((s) => s.name).sort()).toEqual(['backup', 'bastion', 'cache', 'ci', 'db1', 'files.corp', 'legacy', 'mon', 'web1', 'web2']);
    const by = Object.fromEntries(servers.map((s) => [s.name, s]));
    expect(by.bastion!.hostKeyFingerprint).toBe(FP.bastion);
    expect(by.web1!.hostKeyFingerprint).toBe(FP.web1Hashed);
    expect(by.web2!.hostKeyFingerprint).toBe(FP.web2);
    expect(by.mon!.hostKeyFingerprint).toBe(FP.monEd25519);
    expect(by.db1!.hostKeyFingerprint).toBeNull(); // known_hosts disagreed: approval on first contact
    expect(by.cache!.hostKeyFingerprint).toBe(FP.cachePinnedInCronium); // never silently replaced
    expect(by.ci!.hostKeyFingerprint).toBeNull();
    for (const name of ['web1', 'web2', 'db1']) expect(by[name]!.jumpHosts).toEqual([{ id: by.bastion!.id, name: 'bastion' }]);
    expect(by.bastion!.jumpHosts).toEqual([]);
    expect(by.web1).toMatchObject({ host: '10.20.1.11', port: 22, username: 'deploy', authType: 'key', hasCredential: true, agentForwarding: false });
    // The key went to the keychain as the IdentityFile's text; the resolver hands it to the SSH layer.
    const target = await tc.core.servers.resolveTarget(by.web1!.id);
    expect(target.auth).toMatchObject({ type: 'key', privateKey: fs.readFileSync(path.join(home, '.ssh', 'keys', 'default'), 'utf8') });
    expect(target.hops?.map((h) => h.name)).toEqual(['bastion']);
  });

  it('importing again changes nothing', async () => {
    const preview = await tc.core.servers.importPreview(opts(home));
    expect(preview.servers.every((s) => s.action === 'unchanged')).toBe(true);
    const result = await tc.core.servers.importApply(opts(home));
    expect(result).toEqual({ created: [], updated: [] });
  });
});

describe('bad input: a clear message naming file, line and host, and nothing imported', () => {
  let dir: string;
  let before: number;
  beforeEach(async () => {
    dir = makeHome();
    before = (await tc.core.servers.list()).length;
  });
  const write = (rel: string, text: string) => fs.writeFileSync(path.join(dir, '.ssh', rel), text);
  const expectNothingSaved = async () => {
    const err = await rejection(tc.core.servers.importApply(opts(dir)));
    expect(err.code).toBe('SSH_CONFIG_INVALID');
    expect(err.message).toMatch(/^nothing was imported/);
    expect((await tc.core.servers.list()).length).toBe(before);
    return err;
  };

  it('a syntax error', async () => {
    write('config', 'Host ok1\n  HostName 10.9.0.1\nHost broken\n  HostName\n  Port "22\n');
    const preview = await tc.core.servers.importPreview(opts(dir));
    expect(preview.errors.map((e) => [e.file, e.line])).toEqual([['~/.ssh/config', 4], ['~/.ssh/config', 5]]);
    expect(preview.errors[0]!.message).toMatch(/config line 4: HostName has no value/);
    expect(preview.errors[1]!.message).toMatch(/line 5: Port has an unbalanced quote/);
    await expectNothingSaved();
  });

  it('an Include loop', async () => {
    write('config', 'Include a.conf\nHost x1\n  HostName 10.9.0.2\n');
    write('a.conf', 'Include b.conf\n');
    write('b.conf', 'Include a.conf\n');
    const preview = await tc.core.servers.importPreview(opts(dir));
    expect(preview.errors).toHaveLength(1);
    expect(preview.errors[0]).toMatchObject({ file: expect.stringMatching(/b\.conf$/), line: 1 });
    expect(preview.errors[0]!.message).toMatch(/Include loop: .*config → .*a\.conf → .*b\.conf → .*a\.conf/);
    await expectNothingSaved();
  });

  it('a ProxyJump loop, and a ProxyJump to an unknown host', async () => {
    write('config', 'Host j1\n  HostName 10.9.0.3\n  ProxyJump j2\nHost j2\n  HostName 10.9.0.4\n  ProxyJump j1\nHost j3\n  HostName 10.9.0.5\n  ProxyJump nowhere\n');
    const preview = await tc.core.servers.importPreview(opts(dir));
    const messages = preview.errors.map((e) => e.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/line 6, host j2: ProxyJump loop j1 → j2 → j1/),
        expect.stringMatching(/line 9, host j3: ProxyJump names “nowhere”, which is not a Host/),
      ]),
    );
    await expectNothingSaved();
  });

  it('an unreadable IdentityFile; unticking that host lets the rest import', async () => {
    write('config', 'Host good\n  HostName 10.9.0.6\n  IdentityFile ~/.ssh/keys/bastion\nHost nokey\n  HostName 10.9.0.7\n  IdentityFile ~/.ssh/keys/missing\n');
    const preview = await tc.core.servers.importPreview(opts(dir));
    expect(preview.errors).toHaveLength(1);
    expect(preview.errors[0]).toMatchObject({ host: 'nokey', line: 6 });
    expect(preview.errors[0]!.message).toMatch(/host nokey: IdentityFile ~\/\.ssh\/keys\/missing cannot be read \(it does not exist\)/);
    await expectNothingSaved();
    const result = await tc.core.servers.importApply(opts(dir, { exclude: ['nokey'] }));
    expect(result.created).toEqual(['good']);
    await tc.core.servers.delete((await tc.core.servers.list()).find((s) => s.name === 'good')!.id);
  });
});
