// Catalogue export and import with two real cores (SQLite files, migrations, the real services): an export imported
// into an empty data folder reproduces the catalogue field by field; a file with unknown fields, wrong types, missing
// servers, a newer format version or an invalid schedule is refused as a whole, every problem listed, nothing written.
// A tampered file cannot pin a host key, redirect a pinned server with its pin, or turn agent forwarding on.
// No sshd: every core here uses an in-memory secret store and its own temp data folder.
import { utils } from 'ssh2';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listAudit } from '../../../src-main/core/audit-log';
import { EventInput } from '../../../src-shared/contract/events';
import { WorkflowInput } from '../../../src-shared/contract/workflows';
import { createTestCore, type TestCore } from '../../harness/test-core';
import type { Core } from '../../../src-main/core/core';
import { eventSecretRef } from '../../../src-main/core/secrets/secret-refs';

let source: TestCore;
let target: TestCore;
let exported: string;

async function fillCatalogue(core: Core) {
  const key = utils.generateKeyPairSync('ed25519').private;
  const bastion = await core.servers.save({
    name: 'bastion', host: 'bastion.example.test', port: 2222, username: 'jump', authType: 'key', privateKey: key,
    tags: ['edge'], maxConcurrentJobs: 2, agentForwarding: false, jumpServerIds: [],
  });
  const db = await core.servers.save({
    name: 'db-1', host: '10.1.2.3', port: 22, username: 'deploy', authType: 'password', password: 'pw-not-exported-91',
    tags: ['db', 'prod'], maxConcurrentJobs: 4, agentForwarding: false, jumpServerIds: [bastion.id],
  });
  const web = await core.servers.save({
    name: 'web-1', host: 'web-1.example.test', port: 22, username: 'www', authType: 'agent',
    tags: ['web'], maxConcurrentJobs: 8, agentForwarding: true, jumpServerIds: [],
  });
  const backup = await core.events.save(EventInput.parse({
    name: 'nightly backup', description: 'dump and ship', scriptType: 'bash',
    content: '#!/bin/bash\nset -euo pipefail\npg_dump app | gzip > /tmp/app.sql.gz\necho "done: $TARGET"\n',
    env: { TARGET: 's3://bucket/app', COMPRESS: '9' }, secrets: [{ name: 'AWS_SECRET', value: 'aws-secret-not-exported-77' }],
    timeoutSeconds: 1800, retries: 2, retryBackoffSeconds: 30, executionMode: 'runner-ssh', runnerRequirements: { minVersion: '1.0.0', capabilities: ['spool'] },
    serverIds: [db.id], schedule: { kind: 'cron', expression: '30 2 * * *' }, timeZone: 'Europe/Berlin', misfirePolicy: 'run_each', overlapPolicy: 'queue',
  }));
  // Two edits: version 3.
  await core.events.save(EventInput.parse({ ...backupInput(backup), content: `${backup.content}# v2\n` }));
  await core.events.save(EventInput.parse({ ...backupInput(await core.events.get(backup.id)), description: 'dump and ship (v3)' }));
  const report = await core.events.save(EventInput.parse({
    name: 'report', scriptType: 'python', content: 'print("report")\n', timeoutSeconds: 60, serverIds: [web.id, db.id],
    schedule: { kind: 'interval', everySeconds: 900 }, enabled: false,
  }));
  const cleanup = await core.events.save(EventInput.parse({ name: 'cleanup', scriptType: 'node', content: 'console.log("clean")\n', timeoutSeconds: 30, serverIds: [web.id] }));
  await core.workflows.save(WorkflowInput.parse({
    name: 'release', description: 'backup, then report or clean up',
    nodes: [
      { id: 'n1', eventId: backup.id, serverId: db.id, label: 'backup', position: { x: 0, y: 0 } },
      { id: 'n2', eventId: report.id, serverId: null, label: null, timeoutSeconds: 120, position: { x: 200, y: -50 } },
      { id: 'n3', eventId: cleanup.id, serverId: web.id, executionMode: 'direct-ssh', position: { x: 200, y: 50 } },
    ],
    edges: [
      { id: 'e1', source: 'n1', target: 'n2', kind: 'ON_SUCCESS' },
      { id: 'e2', source: 'n1', target: 'n3', kind: 'ON_FAILURE' },
    ],
    timeoutSeconds: 7200, schedule: { kind: 'cron', expression: '0 4 * * 1' }, timeZone: 'UTC',
  }));
  await core.variables.set('REGION', 'eu-central', { scope: 'global', eventId: null, jobId: null });
  await core.variables.set('LAST_DUMP', '2024-01-01', { eventId: backup.id, jobId: null });
  await core.variables.set('API_TOKEN', 'token-not-exported-55', { scope: 'global', eventId: null, jobId: null, secret: true });
}

function backupInput(view: Awaited<ReturnType<Core['events']['get']>>) {
  const { servers, secrets, id, ...rest } = view;
  return { ...rest, id, serverIds: servers.map((s) => s.id), secrets: secrets.map((s) => ({ name: s.name })) };
}

beforeAll(async () => {
  source = await createTestCore();
  target = await createTestCore();
  await fillCatalogue(source.core);
  exported = (await source.core.catalogue.exportYaml()).yaml;
}, 60_000);

afterAll(async () => {
  await source?.cleanup();
  await target?.cleanup();
});

describe('catalogue export', () => {
  it('writes readable YAML without any secret value or credential', () => {
    expect(exported).toMatch(/^# Cronium Desktop catalogue/);
    expect(exported).toContain('format: cronium-catalogue\nformatVersion: 1\n');
    // Scripts as block scalars: a one-line change is a one-line diff.
    expect(exported).toContain('    content: |\n      #!/bin/bash\n      set -euo pipefail\n');
    for (const secret of ['pw-not-exported-91', 'aws-secret-not-exported-77', 'token-not-exported-55', 'PRIVATE KEY']) expect(exported).not.toContain(secret);
    const doc = parse(exported) as { events: Array<{ name: string; version: number; secrets: string[] }> };
    expect(doc.events.map((e) => [e.name, e.version, e.secrets])).toEqual([['cleanup', 1, []], ['nightly backup', 3, ['AWS_SECRET']], ['report', 1, []]]);
  });

  it('is stable: a second export of an unchanged catalogue is identical', async () => {
    expect((await source.core.catalogue.exportYaml()).yaml).toBe(exported);
  });
});

describe('catalogue import into an empty data folder', () => {
  it('previews every item as a create and changes nothing', async () => {
    const preview = await target.core.catalogue.preview(exported);
    expect(preview.problems).toEqual([]);
    expect(preview.applicable).toBe(true);
    expect(preview.counts).toEqual({ create: 3 + 3 + 1 + 3, update: 0, unchanged: 0, conflict: 0 });
    expect(await target.core.events.list()).toEqual([]);
    expect(await target.core.servers.list()).toEqual([]);
  });

  it('reproduces the catalogue exactly, field by field', async () => {
    const result = await target.core.catalogue.apply(exported);
    expect(result.counts.create).toBe(10);
    const again = (await target.core.catalogue.exportYaml()).yaml;
    // Field by field (a failure shows which fields differ), then the text itself. Two fields an import never takes
    // from a file: agent forwarding (web-1 has it on at the source; only the user turns it on, in the app) and host
    // key pins (none at the source, which never connected, so every hostKeyFingerprint is null on both sides).
    expect(exported).toContain('hostKeyFingerprint: null');
    expect(exported).not.toMatch(/hostKeyFingerprint: (?!null)/);
    const expected = exported.replace('agentForwarding: true', 'agentForwarding: false');
    expect(expected).not.toBe(exported);
    expect(parse(again)).toEqual(parse(expected));
    expect(again).toBe(expected);

    // And through the services' own views, ids and times aside.
    const strip = <T extends object>(v: T) => JSON.parse(JSON.stringify(v, (k, val: unknown) => (['id', 'createdAt', 'updatedAt', 'nextRunAt', 'lastRun', 'lastConnection', 'eventId', 'serverId', 'jumpHosts', 'jumpServerIds'].includes(k) ? undefined : val))) as T;
    const [a, b] = [await source.core.events.list(), await target.core.events.list()];
    expect(strip(b)).toEqual(strip(a));
    // The secret's name came along; its value did not (the keychain account stays empty until the user enters it).
    const imported = b.find((e) => e.name === 'nightly backup')!;
    expect(imported.secrets.map((s) => s.name)).toEqual(['AWS_SECRET']);
    expect(await target.core.secrets.get(eventSecretRef(imported.id, 'AWS_SECRET'))).toBeNull();
    const [wa, wb] = [await source.core.workflows.list(), await target.core.workflows.list()];
    expect(strip(wb)).toEqual(strip(wa));
    expect((await target.core.variables.list()).map((v) => [v.key, v.value, v.secret])).toEqual(
      expect.arrayContaining([['REGION', 'eu-central', false], ['LAST_DUMP', '2024-01-01', false], ['API_TOKEN', null, true]]),
    );
    // The imported schedules were handed to the target's scheduler after the commit: once it runs, both have a next run.
    await target.core.scheduler.wiring.start();
    const book = target.core.scheduler.scheduler;
    expect(book.nextFire('workflow', (await target.core.workflows.list())[0]!.id)).not.toBeNull();
    expect(book.nextFire('event', imported.id)).not.toBeNull();
    expect(book.nextFire('event', b.find((e) => e.name === 'report')!.id)).toBeNull(); // disabled
  });

  it('then previews the same file as unchanged, and an edited one as an update naming the changed fields', async () => {
    expect((await target.core.catalogue.preview(exported)).counts).toEqual({ create: 0, update: 0, unchanged: 10, conflict: 0 });
    const edited = exported.replace('timeoutSeconds: 1800', 'timeoutSeconds: 2400');
    const preview = await target.core.catalogue.preview(edited);
    expect(preview.items.filter((i) => i.action === 'update')).toEqual([{ kind: 'event', name: 'nightly backup', action: 'update', detail: 'changes timeoutSeconds' }]);
    await target.core.catalogue.apply(edited);
    const backup = (await target.core.events.list()).find((e) => e.name === 'nightly backup')!;
    expect(backup.timeoutSeconds).toBe(2400);
    expect(backup.version).toBe(4);
  });
});

describe('a bad catalogue file', () => {
  async function refused(core: Core, text: string): Promise<string[]> {
    const err = (await core.catalogue.apply(text).catch((e: unknown) => e)) as { code?: string; extra?: { details?: { preview?: { problems: string[] } } } };
    expect(err.code).toBe('CATALOGUE_REFUSED');
    return err.extra!.details!.preview!.problems;
  }

  it('is refused as a whole with every problem listed: unknown field, wrong type, missing server', async () => {
    const fresh = await createTestCore();
    try {
      const bad = exported
        .replace('    host: 10.1.2.3\n', '    host: 10.1.2.3\n    colour: blue\n')
        .replace('timeoutSeconds: 1800', 'timeoutSeconds: "half an hour"')
        .replace('  - name: web-1\n', '  - name: web-2\n');
      const problems = await refused(fresh.core, bad);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^servers\[1\]( \(db-1\))?: Unrecognized key: "colour"/),
          expect.stringMatching(/^events\[1\]\.timeoutSeconds \(nightly backup\): .*number/),
        ]),
      );
      expect(problems.length).toBeGreaterThanOrEqual(2);
      // Structure first, then references: a file that parses but names a missing server.
      const missing = await refused(fresh.core, exported.replace('  - name: web-1\n', '  - name: web-2\n'));
      expect(missing).toEqual(
        expect.arrayContaining([
          'events[0] (cleanup).servers: no server named "web-1" in the file or in this catalogue',
          'events[2] (report).servers: no server named "web-1" in the file or in this catalogue',
          'workflows[0] (release).nodes[2].server: no server named "web-1" in the file or in this catalogue',
        ]),
      );
      expect(await fresh.core.servers.list()).toEqual([]);
      expect(await fresh.core.events.list()).toEqual([]);
    } finally {
      await fresh.cleanup();
    }
  });

  it('is refused for an unknown field inside a nested object (a schedule)', async () => {
    const problems = await refused(target.core, exported.replace("expression: 30 2 * * *\n", "expression: 30 2 * * *\n      every: monday\n"));
    expect(problems).toEqual(['events[1].schedule (nightly backup): Unrecognized key: "every"']);
  });

  it('is refused when written by a newer format version', async () => {
    const problems = await refused(target.core, exported.replace('formatVersion: 1', 'formatVersion: 2'));
    expect(problems).toEqual([expect.stringContaining('written by a newer Cronium (format version 2; this one reads up to 1)')]);
  });

  it('applies nothing when one item fails deep validation (an invalid cron expression): all or nothing', async () => {
    const fresh = await createTestCore();
    try {
      const bad = exported.replace("expression: 30 2 * * *", 'expression: 99 99 * * *');
      expect(bad).not.toBe(exported);
      const preview = await fresh.core.catalogue.preview(bad);
      expect(preview.applicable).toBe(false);
      expect(preview.problems).toEqual([expect.stringMatching(/^event nightly backup: /), expect.stringMatching(/^workflow release: /)]);
      await refused(fresh.core, bad);
      // The servers and other events of the file, valid on their own, were rolled back with it.
      expect(await fresh.core.servers.list()).toEqual([]);
      expect(await fresh.core.events.list()).toEqual([]);
      expect(await fresh.core.workflows.list()).toEqual([]);
    } finally {
      await fresh.cleanup();
    }
  });

  it('is refused for an event held by the server that has secrets (secrets never go to a server)', async () => {
    const fresh = await createTestCore();
    try {
      const block = exported.indexOf('  - name: nightly backup\n');
      const firesOn = exported.indexOf('    firesOn: app\n', block);
      expect(block).toBeGreaterThan(0);
      expect(firesOn).toBeGreaterThan(block);
      const bad = `${exported.slice(0, firesOn)}    firesOn: server\n${exported.slice(firesOn + '    firesOn: app\n'.length)}`;
      const problems = await refused(fresh.core, bad);
      // (The workflow that runs it is refused in turn: its step's event was not imported.)
      expect(problems).toEqual([expect.stringMatching(/^event nightly backup: this event cannot fire on the server: .*secrets/), expect.stringMatching(/^workflow release: /)]);
      expect(await fresh.core.events.list()).toEqual([]);
    } finally {
      await fresh.cleanup();
    }
  });
});

describe('a tampered catalogue file against existing servers', () => {
  it('cannot move a pinned server with its pin, plant a pin, or turn agent forwarding on', async () => {
    const t = await createTestCore();
    try {
      const core = t.core;
      const prod = await core.servers.save({
        name: 'prod-db', host: '10.9.9.9', port: 22, username: 'deploy', authType: 'password', password: 'prod-pw-31',
        tags: [], maxConcurrentJobs: 4, agentForwarding: false, jumpServerIds: [],
      });
      const ops = await core.servers.save({
        name: 'ops-box', host: 'ops.example.test', port: 22, username: 'ops', authType: 'agent',
        tags: [], maxConcurrentJobs: 4, agentForwarding: false, jumpServerIds: [],
      });
      // Pins the user approved (trustHostKey needs a live server; the row is what it writes).
      await core.servers.store.update(prod.id, { host_key_fingerprint: 'SHA256:legit-prod', host_key_algorithm: 'ssh-ed25519' });
      await core.servers.store.update(ops.id, { host_key_fingerprint: 'SHA256:legit-ops', host_key_algorithm: 'ssh-ed25519' });
      const file = (await core.catalogue.exportYaml()).yaml;
      // The export carries the public fingerprints, for reading only.
      expect(file).toContain('hostKeyFingerprint: SHA256:legit-prod');
      const tampered = file
        .replace('host: 10.9.9.9', 'host: evil.example')
        .replace('SHA256:legit-prod', 'SHA256:attacker-prod')
        .replace('SHA256:legit-ops', 'SHA256:attacker-ops')
        .replace('agentForwarding: false\n    jumpServers: []\n  - name: prod-db', 'agentForwarding: true\n    jumpServers: []\n  - name: prod-db')
        .replace('servers:\n', [
          'servers:',
          '  - name: new-box', '    host: new.example.test', '    port: 22', '    username: root', '    authType: agent',
          '    hostKeyFingerprint: SHA256:attacker-new', '    hostKeyAlgorithm: ssh-ed25519', '    tags: []', '    maxConcurrentJobs: 4',
          '    agentForwarding: true', '    jumpServers: []', '',
        ].join('\n'));
      expect(tampered).toContain('name: ops-box\n    host: ops.example.test');
      expect(tampered.match(/agentForwarding: true/g)).toHaveLength(2);

      const invalidated: string[] = [];
      const spy = vi.spyOn(core.ssh, 'invalidate').mockImplementation((id: string) => void invalidated.push(id));
      const preview = await core.catalogue.preview(tampered);
      expect(invalidated).toEqual([]); // the dry run releases nothing
      const item = (name: string) => preview.items.find((i) => i.name === name)!;
      expect(item('prod-db')).toMatchObject({ action: 'update', detail: expect.stringContaining('pinned host key is dropped') });
      expect(item('new-box')).toMatchObject({ action: 'create', detail: expect.stringMatching(/host key approved on first contact.*agent forwarding not turned on/) });
      // ops-box: only the fingerprint and forwarding differ, and the import takes neither.
      expect(item('ops-box')).toMatchObject({ action: 'unchanged' });

      await core.catalogue.apply(tampered);
      spy.mockRestore();
      const after = new Map((await core.servers.list()).map((s) => [s.name, s]));
      expect(after.get('prod-db')).toMatchObject({ host: 'evil.example', hostKeyFingerprint: null, agentForwarding: false });
      expect(after.get('ops-box')).toMatchObject({ hostKeyFingerprint: 'SHA256:legit-ops', agentForwarding: false });
      expect(after.get('new-box')).toMatchObject({ hostKeyFingerprint: null, agentForwarding: false, hasCredential: true });
      expect(invalidated).toContain(prod.id);
      expect(invalidated).not.toContain(ops.id);

      const audit = (await listAudit(core.db, { limit: 100 })).entries;
      const of = (action: string, id: string) => audit.filter((e) => e.action === action && e.objectId === id);
      expect(of('server.host_key_unpinned', prod.id)).toEqual([expect.objectContaining({ detail: expect.objectContaining({ host: 'evil.example', via: 'catalogue' }) })]);
      expect(of('server.update', prod.id)).toEqual([expect.objectContaining({ detail: expect.objectContaining({ host: 'evil.example', via: 'catalogue' }) })]);
      expect(audit.filter((e) => e.action === 'server.agent_forwarding')).toEqual([]);
      expect(audit.filter((e) => /trust_host_key|replace_host_key/.test(e.action))).toEqual([]);

      // Forwarding needs the agent credential, in a file as in the app.
      const forwardingOnPassword = tampered.replace(/(name: prod-db\n(?: {4}.*\n)*? {4}agentForwarding: )false/, '$1true');
      expect(forwardingOnPassword).not.toBe(tampered);
      const refusedPreview = await core.catalogue.preview(forwardingOnPassword);
      expect(refusedPreview.problems).toEqual([expect.stringMatching(/^servers\[\d\] \(prod-db\)\.agentForwarding: agent forwarding needs the ssh-agent credential kind/)]);
    } finally {
      await t.cleanup();
    }
  });
});
