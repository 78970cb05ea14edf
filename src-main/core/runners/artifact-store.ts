/**
 * ArtifactStore: the runner artifacts this workstation can deploy. It imports the artifacts bundled with the app into
 * the artifact cache (RUNNER_ARTIFACT_PATH), registers them in runner_artifacts (runtimes, the Node binaries a code
 * bundle runs under, are kept in memory from the scan, not as rows), picks the one that fits a server, and
 * hands out files only after re-checking their sha256 and ed25519 signature on every load.
 * It must never hand out a file whose checksum or signature does not match: such a file is refused as ARTIFACT_TAMPERED.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { RUNNER_MIN_NODE_MAJOR, type RunnerKind } from '../../../src-shared/protocol/runner-info';
import { systemClock, type Clock } from '../clock';
import { SingleFlight } from '../execution/single-flight';
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import type { Row } from '../db/schema';
import { AppError, isAppError, type ErrorCode } from '../errors';
import type { Metrics } from '../metrics/metrics';
import { ArtifactManifest, verifyArtifactSignature, type ArtifactKind, type TrustedKey } from './artifact-signing';
import { compareVersions, hasUsableNode, isAtLeast } from './runner-version';

export const MANIFEST_FILE = 'manifest.json';
/** os and arch of the JS-only artifact, which runs wherever Node >= 18 does. */
export const JS_ARTIFACT_PLATFORM = 'any';

export interface ArtifactRecord {
  id: string;
  version: string;
  os: string;
  arch: string;
  kind: RunnerKind;
  /** sha256 of the uncompressed executable: what the server checks after unpacking. */
  sha256: string;
  compressedSha256: string;
  size: number;
  compressedSize: number;
  signature: string;
  keyId: string;
  /** The gzip file in the artifact cache (what is uploaded). */
  compressedPath: string;
  capabilities: string[];
  protocolVersion: number | null;
  createdAt: string;
}

/**
 * A runtime: the plain Node binary a js code bundle runs under on a server without Node (version = the Node version).
 * Kept out of runner_artifacts (it is not a runner): found in the artifact cache by scan(), verified by open().
 */
export interface RuntimeRecord {
  version: string;
  os: string;
  arch: string;
  kind: 'runtime';
  sha256: string;
  compressedSha256: string;
  size: number;
  compressedSize: number;
  keyId: string;
  compressedPath: string;
}

/** What open() verifies and unpacks: a runner artifact or a runtime. */
export type OpenableArtifact = Pick<ArtifactRecord, 'version' | 'sha256' | 'compressedPath'> & { kind: ArtifactKind };

export interface ArtifactRejection {
  /** The manifest that was refused. */
  manifestPath: string;
  code: ErrorCode;
  message: string;
}

export interface PickRequest {
  /** As the runner reports it: 'linux', 'darwin'. */
  os: string;
  /** As the runner reports it: 'x64', 'arm64'. */
  arch: string;
  /** `node --version` on the server, or null when it has none. */
  nodeVersion?: string | null;
  /** Exactly this version (e.g. RunnerSettings.defaultVersion); otherwise the newest that fits. */
  version?: string;
  minVersion?: string;
  capabilities?: string[];
  /**
   * A runtime for this os/arch is available (pickRuntime): the js bundle fits without the server's Node, and is
   * preferred to a single executable of the same version (an upgrade then ships only the bundle).
   */
  runtimeAvailable?: boolean;
}

export interface OpenedArtifact {
  /** The uncompressed executable (or .cjs), verified just now; null when only the gzip was asked for. */
  path: string | null;
  /** The gzip file, verified just now. */
  compressedPath: string;
  sha256: string;
  /** The gzip's bytes, read once and hashed as read (only with `compressedBytes`): what is sent is what was hashed. */
  compressedBytes?: Buffer;
}

export interface ArtifactStoreDeps {
  db: AppDatabase;
  metrics: Metrics;
  /** The release and development public keys from resources/keys (loadTrustedKeys). */
  trustedKeys: TrustedKey[];
  /** settings.runner.artifactCachePath (RUNNER_ARTIFACT_PATH) or <dataDir>/runner-artifacts; read on every call. */
  artifactDir: () => string;
  /** resources/runner-artifacts: what the app ships (or the runner build produced). */
  bundledDir: string;
  /** Stamps created_at (default: the system clock). */
  clock?: Clock;
}

/** Maps `uname -s` / `uname -m` to the names runners and artifacts use (Node's process.platform / process.arch). */
export function platformOfUname(unameS: string, unameM: string): { os: string; arch: string } {
  const s = unameS.trim().toLowerCase();
  const m = unameM.trim().toLowerCase();
  const os = s === 'linux' ? 'linux' : s === 'darwin' ? 'darwin' : s.startsWith('freebsd') ? 'freebsd' : s;
  const arches: Record<string, string> = { x86_64: 'x64', amd64: 'x64', aarch64: 'arm64', arm64: 'arm64', armv7l: 'arm', i686: 'ia32', i386: 'ia32' };
  return { os, arch: arches[m] ?? m };
}

async function sha256OfFile(file: string, gunzip = false): Promise<string> {
  const hash = createHash('sha256');
  const source = fs.createReadStream(file);
  if (gunzip) await pipeline(source, zlib.createGunzip(), hash);
  else await pipeline(source, hash);
  return hash.digest('hex');
}

/** Where each kind lives in the cache: its target folder, gzip and uncompressed file (scripts/build-runner.mjs writes the same). */
const LAYOUT: Record<ArtifactKind, { folder: (m: { os: string; arch: string }) => string; gz: string; file: string }> = {
  js: { folder: () => 'js', gz: 'cronium-runner.cjs.gz', file: 'cronium-runner.cjs' },
  sea: { folder: (m) => `${m.os}-${m.arch}`, gz: 'cronium-runner.gz', file: 'cronium-runner' },
  runtime: { folder: (m) => `runtime-${m.os}-${m.arch}`, gz: 'node.gz', file: 'node' },
};

function layoutOf(kind: ArtifactKind): (typeof LAYOUT)[ArtifactKind] {
  return LAYOUT[kind];
}

/** The cache's folder per version: runtimes under node-<node version>, runners under their version. */
function versionFolder(m: { version: string; kind: ArtifactKind }): string {
  return m.kind === 'runtime' ? `node-${m.version}` : m.version;
}

/** Every <version>/<target>/manifest.json under a folder. */
function findManifests(dir: string): string[] {
  const found: string[] = [];
  const subdirs = (d: string) => {
    try {
      return fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(d, e.name));
    } catch {
      return [];
    }
  };
  for (const versionDir of subdirs(dir)) {
    for (const targetDir of subdirs(versionDir)) {
      const manifest = path.join(targetDir, MANIFEST_FILE);
      if (fs.existsSync(manifest)) found.push(manifest);
    }
  }
  return found.sort();
}

export class ArtifactStore {
  private rejectedOnLastScan: ArtifactRejection[] = [];
  private runtimesOnLastScan: RuntimeRecord[] = [];

  /** One unpack at a time per executable path (see unpack()). */
  private readonly unpacking = new SingleFlight<void>();
  /** One hash of a gzip at a time per file and signed sha256, shared by the opens waiting for it (see open()). */
  private readonly verifying = new SingleFlight<void>();

  constructor(private readonly deps: ArtifactStoreDeps) {}

  /**
   * Imports every bundled artifact into the cache (copying only what is missing or different), verifies each one,
   * registers the verified ones in runner_artifacts and removes rows whose files are gone. Artifacts that fail
   * verification are left out and reported by rejected().
   */
  async scan(): Promise<ArtifactRecord[]> {
    const cacheDir = this.deps.artifactDir();
    fs.mkdirSync(cacheDir, { recursive: true });
    const rejected: ArtifactRejection[] = [];
    const refuse = (manifestPath: string, err: unknown) => {
      if (!isAppError(err)) throw err;
      rejected.push({ manifestPath, code: err.code, message: err.message });
    };

    if (path.resolve(this.deps.bundledDir) !== path.resolve(cacheDir)) {
      for (const manifestPath of findManifests(this.deps.bundledDir)) {
        try {
          await this.importBundled(manifestPath, cacheDir);
        } catch (err) {
          refuse(manifestPath, err);
        }
      }
    }

    const records: ArtifactRecord[] = [];
    const runtimes: RuntimeRecord[] = [];
    const keep = new Set<string>();
    for (const manifestPath of findManifests(cacheDir)) {
      try {
        const manifest = this.readVerifiedManifest(manifestPath);
        const compressedPath = path.join(path.dirname(manifestPath), layoutOf(manifest.kind).gz);
        const stat = fs.statSync(compressedPath, { throwIfNoEntry: false });
        if (!stat || stat.size !== manifest.compressedSize) {
          throw this.tampered(manifest, `${compressedPath} is missing or has the wrong size`);
        }
        if (manifest.kind === 'runtime') {
          runtimes.push({ ...pickRuntimeFields(manifest), kind: 'runtime', compressedPath });
          continue;
        }
        records.push(await this.register({ ...manifest, kind: manifest.kind }, compressedPath));
        keep.add(compressedPath);
      } catch (err) {
        refuse(manifestPath, err);
      }
    }
    // Rows whose files were removed (a cleaned cache, a changed RUNNER_ARTIFACT_PATH) no longer name a usable artifact.
    const rows = await this.deps.db.kysely.selectFrom('runner_artifacts').select(['id', 'binary_path']).execute();
    const stale = rows.filter((r) => !keep.has(r.binary_path)).map((r) => r.id);
    if (stale.length) await this.deps.db.kysely.deleteFrom('runner_artifacts').where('id', 'in', stale).execute();

    this.rejectedOnLastScan = rejected;
    this.runtimesOnLastScan = runtimes;
    return records;
  }

  /**
   * The newest runtime the last scan() found for os/arch whose manifest is still present and correctly signed (its
   * files are checked by open()), or null.
   */
  pickRuntime(os: string, arch: string): RuntimeRecord | null {
    const fitting = this.runtimesOnLastScan
      .filter((r) => r.os === os && r.arch === arch)
      .filter((r) => {
        try {
          return this.readVerifiedManifest(path.join(path.dirname(r.compressedPath), MANIFEST_FILE)).sha256 === r.sha256;
        } catch (err) {
          if (isAppError(err)) return false;
          throw err;
        }
      })
      .sort((a, b) => compareVersions(b.version, a.version));
    return fitting[0] ?? null;
  }

  /** Artifacts the last scan() refused, with the reason. */
  rejected(): ArtifactRejection[] {
    return [...this.rejectedOnLastScan];
  }

  /** Registered artifacts whose manifest is present and correctly signed (checksums are checked by open()). */
  async list(): Promise<ArtifactRecord[]> {
    const rows = await this.deps.db.kysely.selectFrom('runner_artifacts').selectAll().execute();
    const records: ArtifactRecord[] = [];
    for (const row of rows) {
      const record = this.recordOfRow(row);
      if (record) records.push(record);
    }
    return records.sort((a, b) => compareVersions(b.version, a.version) || a.os.localeCompare(b.os) || a.arch.localeCompare(b.arch) || a.kind.localeCompare(b.kind));
  }

  /**
   * The artifact for a server, smallest transfer first: the js code bundle when the server has Node >= 18 (it runs
   * under that node) or a runtime exists for its os/arch (runtimeAvailable: the bundle runs under the deployed
   * runtime); the single executable only when neither holds. Among versions, the exact one asked for or the newest
   * that meets minVersion and has every capability asked for; at the same version the js bundle wins.
   */
  async pick(request: PickRequest): Promise<ArtifactRecord> {
    const all = await this.list();
    const jsRuns = hasUsableNode(request.nodeVersion) || request.runtimeAvailable === true;
    const wanted = request.capabilities ?? [];
    const fits = (r: ArtifactRecord) =>
      (request.version === undefined || compareVersions(r.version, request.version) === 0) &&
      (request.minVersion === undefined || isAtLeast(r.version, request.minVersion)) &&
      wanted.every((c) => r.capabilities.includes(c));
    const sea = all.filter((r) => r.kind === 'sea' && r.os === request.os && r.arch === request.arch && fits(r));
    const js = jsRuns ? all.filter((r) => r.kind === 'js' && fits(r)) : [];
    const best = [...js, ...sea].sort((a, b) => compareVersions(b.version, a.version) || (a.kind === 'js' ? -1 : 0) - (b.kind === 'js' ? -1 : 0))[0];
    if (best) return best;

    const target = `${request.os}-${request.arch}`;
    const asked = [
      request.version ? `version ${request.version}` : null,
      request.minVersion ? `version >= ${request.minVersion}` : null,
      wanted.length ? `capabilities ${wanted.join(', ')}` : null,
    ].filter(Boolean);
    const available = all.map((r) => `${r.version} ${r.kind === 'js' ? 'js' : `${r.os}-${r.arch}`}`).join(', ') || 'none';
    const node = request.nodeVersion ? `Node ${request.nodeVersion}` : 'no Node';
    throw new AppError(
      'RUNNER_ARTIFACT_UNAVAILABLE',
      `No runner artifact fits ${target}${asked.length ? ` with ${asked.join(' and ')}` : ''} (the server has ${node}; ` +
        `a JS runner needs Node >= ${RUNNER_MIN_NODE_MAJOR}). Available: ${available}. ` +
        'Build the runner for this platform (npm run build:runner) or use direct-ssh for this server.',
      { details: { os: request.os, arch: request.arch, nodeVersion: request.nodeVersion ?? null } },
    );
  }

  /**
   * Verifies the artifact's files against its signed manifest, right now, and returns their paths. The gzip is hashed
   * against its signed sha256 (concurrent opens of one artifact, several servers deployed at once, share that one
   * hash); the uncompressed file is derived from the verified gzip on first use and hashed only when `unpacked` is
   * asked for (a server without gzip). With `compressedBytes` (a small artifact sent in an exec's stdin) the gzip is
   * read into memory and those bytes are hashed instead, so nothing can change between the hash and the send.
   * A mismatch deletes the bad copy (the next scan() restores it from the bundled artifact) and throws ARTIFACT_TAMPERED.
   */
  async open(record: OpenableArtifact): Promise<OpenedArtifact & { path: string }>;
  async open(record: OpenableArtifact, opts: { unpacked: false; compressedBytes: true }): Promise<OpenedArtifact & { compressedBytes: Buffer }>;
  async open(record: OpenableArtifact, opts: { unpacked: boolean }): Promise<OpenedArtifact>;
  async open(record: OpenableArtifact, opts: { unpacked?: boolean; compressedBytes?: boolean } = {}): Promise<OpenedArtifact> {
    const dir = path.dirname(record.compressedPath);
    const manifest = this.readVerifiedManifest(path.join(dir, MANIFEST_FILE));
    if (manifest.sha256 !== record.sha256 || manifest.version !== record.version || manifest.kind !== record.kind) {
      throw this.tampered(manifest, `its manifest no longer matches the registered artifact (sha256 ${record.sha256.slice(0, 12)}…)`);
    }
    const compressedPath = record.compressedPath;
    const executable = path.join(dir, layoutOf(manifest.kind).file);
    const checkGzip = (sha: string | null) => {
      if (sha === manifest.compressedSha256) return;
      fs.rmSync(compressedPath, { force: true });
      fs.rmSync(executable, { force: true });
      throw this.tampered(manifest, sha ? `${compressedPath} has sha256 ${sha.slice(0, 12)}…, expected ${manifest.compressedSha256.slice(0, 12)}…` : `${compressedPath} is missing`);
    };
    if (opts.compressedBytes) {
      const bytes = fs.existsSync(compressedPath) ? await fs.promises.readFile(compressedPath) : null;
      checkGzip(bytes ? createHash('sha256').update(bytes).digest('hex') : null);
      return { path: null, compressedPath, sha256: manifest.sha256, compressedBytes: bytes! };
    }
    await this.verifying.run(`${compressedPath}\u0000${manifest.compressedSha256}`, async () => {
      checkGzip(fs.existsSync(compressedPath) ? await sha256OfFile(compressedPath) : null);
    });
    if (opts.unpacked === false) return { path: null, compressedPath, sha256: manifest.sha256 };

    if (fs.existsSync(executable)) {
      const sha = await sha256OfFile(executable);
      if (sha !== manifest.sha256) {
        fs.rmSync(executable, { force: true });
        throw this.tampered(manifest, `${executable} has sha256 ${sha.slice(0, 12)}…, expected ${manifest.sha256.slice(0, 12)}…`);
      }
    } else {
      // Unpacking hashes what it writes: content that is not the signed sha256 is refused there.
      await this.unpacking.run(executable, () => this.unpack(manifest, compressedPath, executable));
    }
    return { path: executable, compressedPath, sha256: manifest.sha256 };
  }

  /**
   * Unpacks the verified gzip next to it through a temporary file, checking the sha256 on the way. Concurrent opens of
   * one artifact (several servers deployed at once) share one unpack, so they never race on the temporary file.
   */
  private async unpack(manifest: ArtifactManifest, compressedPath: string, executable: string): Promise<void> {
    if (fs.existsSync(executable)) return;
    const tmp = `${executable}.${process.pid}.tmp`;
    const hash = createHash('sha256');
    try {
      await pipeline(fs.createReadStream(compressedPath), zlib.createGunzip(), async function* (source) {
        for await (const chunk of source) {
          hash.update(chunk as Buffer);
          yield chunk;
        }
      }, fs.createWriteStream(tmp, { mode: 0o755 }));
    } catch (err) {
      // A failed unpack (disk full, a read error) must not leave a partial executable next to the artifact.
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    if (hash.digest('hex') !== manifest.sha256) {
      fs.rmSync(tmp, { force: true });
      throw this.tampered(manifest, 'the gzip file changed while it was being unpacked');
    }
    fs.renameSync(tmp, executable);
  }

  /** Copies a bundled artifact into the cache unless an identical, intact copy is there already (a cache hit). */
  private async importBundled(manifestPath: string, cacheDir: string): Promise<void> {
    const manifest = this.readVerifiedManifest(manifestPath);
    const source = path.join(path.dirname(manifestPath), layoutOf(manifest.kind).gz);
    const destDir = path.join(cacheDir, versionFolder(manifest), layoutOf(manifest.kind).folder(manifest));
    const dest = path.join(destDir, layoutOf(manifest.kind).gz);
    const destManifestPath = path.join(destDir, MANIFEST_FILE);

    const cached = this.tryReadManifest(destManifestPath);
    const sameArtifact =
      cached !== null &&
      cached.sha256 === manifest.sha256 &&
      cached.compressedSha256 === manifest.compressedSha256 &&
      cached.signature === manifest.signature;
    if (sameArtifact && fs.existsSync(dest) && (await sha256OfFile(dest)) === manifest.compressedSha256) {
      this.deps.metrics.runnerArtifactCacheHits.inc();
      return;
    }

    this.deps.metrics.runnerArtifactCacheMisses.inc();
    const sourceSha = await sha256OfFile(source).catch(() => null);
    if (sourceSha !== manifest.compressedSha256) {
      throw this.tampered(manifest, sourceSha ? `${source} has sha256 ${sourceSha.slice(0, 12)}…, expected ${manifest.compressedSha256.slice(0, 12)}…` : `${source} is missing`);
    }
    fs.mkdirSync(destDir, { recursive: true });
    // A new artifact invalidates the unpacked copy of the old one.
    fs.rmSync(path.join(destDir, layoutOf(manifest.kind).file), { force: true });
    const tmp = `${dest}.${process.pid}.tmp`;
    try {
      fs.copyFileSync(source, tmp);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    if ((await sha256OfFile(tmp)) !== manifest.compressedSha256) {
      fs.rmSync(tmp, { force: true });
      throw this.tampered(manifest, 'the copy in the artifact cache differs from the bundled file');
    }
    fs.renameSync(tmp, dest);
    fs.copyFileSync(manifestPath, destManifestPath);
  }

  private async register(manifest: ArtifactManifest & { kind: RunnerKind }, compressedPath: string): Promise<ArtifactRecord> {
    const kysely = this.deps.db.kysely;
    const values = {
      checksum: manifest.sha256,
      signature: manifest.signature,
      binary_path: compressedPath,
      size_bytes: manifest.size,
      compressed_size_bytes: manifest.compressedSize,
    };
    const existing = await kysely
      .selectFrom('runner_artifacts')
      .selectAll()
      .where('version', '=', manifest.version)
      .where('os', '=', manifest.os)
      .where('arch', '=', manifest.arch)
      .where('kind', '=', manifest.kind)
      .executeTakeFirst();
    let row: Row<'runner_artifacts'>;
    if (existing) {
      await kysely.updateTable('runner_artifacts').set(values).where('id', '=', existing.id).execute();
      row = { ...existing, ...values };
    } else {
      row = { id: newId(), version: manifest.version, os: manifest.os, arch: manifest.arch, kind: manifest.kind, created_at: nowIso((this.deps.clock ?? systemClock).now()), ...values };
      await kysely.insertInto('runner_artifacts').values(row).execute();
    }
    return this.toRecord(row, manifest);
  }

  private recordOfRow(row: Row<'runner_artifacts'>): ArtifactRecord | null {
    try {
      const manifest = this.readVerifiedManifest(path.join(path.dirname(row.binary_path), MANIFEST_FILE));
      if (manifest.sha256 !== row.checksum) return null;
      return this.toRecord(row, manifest);
    } catch (err) {
      if (isAppError(err)) return null;
      throw err;
    }
  }

  private toRecord(row: Row<'runner_artifacts'>, manifest: ArtifactManifest): ArtifactRecord {
    return {
      id: row.id,
      version: row.version,
      os: row.os,
      arch: row.arch,
      kind: row.kind,
      sha256: row.checksum,
      compressedSha256: manifest.compressedSha256,
      size: manifest.size,
      compressedSize: manifest.compressedSize,
      signature: manifest.signature,
      keyId: manifest.keyId,
      compressedPath: row.binary_path,
      capabilities: manifest.capabilities ?? [],
      protocolVersion: manifest.protocolVersion ?? null,
      createdAt: row.created_at,
    };
  }

  private tryReadManifest(file: string): ArtifactManifest | null {
    try {
      return ArtifactManifest.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
    } catch {
      return null;
    }
  }

  /** Parses a manifest and checks its signature; ARTIFACT_INVALID when unreadable, ARTIFACT_TAMPERED when forged. */
  private readVerifiedManifest(file: string): ArtifactManifest {
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new AppError('ARTIFACT_INVALID', `The runner artifact manifest ${file} cannot be read: ${(err as Error).message}. Rebuild the runner (npm run build:runner).`, {
        cause: err,
      });
    }
    const parsed = ArtifactManifest.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AppError('ARTIFACT_INVALID', `The runner artifact manifest ${file} is malformed (${issue.path.join('.') || 'root'}: ${issue.message}). Rebuild the runner (npm run build:runner).`);
    }
    verifyArtifactSignature(parsed.data, this.deps.trustedKeys);
    return parsed.data;
  }

  private tampered(manifest: ArtifactManifest, what: string): AppError {
    const label = manifest.kind === 'runtime' ? `runtime node ${manifest.version} ${manifest.os}-${manifest.arch}` : `${manifest.version} ${manifest.kind === 'js' ? 'js' : `${manifest.os}-${manifest.arch}`}`;
    return new AppError(
      'ARTIFACT_TAMPERED',
      `Runner artifact ${label} failed verification: ${what}. It will not be deployed. A damaged cached copy is removed ` +
        'and restored from the app at the next scan; if the bundled artifact itself is damaged, rebuild the runner ' +
        '(npm run build:runner) or reinstall the app.',
      { details: { version: manifest.version, os: manifest.os, arch: manifest.arch, kind: manifest.kind } },
    );
  }
}

function pickRuntimeFields(m: ArtifactManifest): Omit<RuntimeRecord, 'kind' | 'compressedPath'> {
  return { version: m.version, os: m.os, arch: m.arch, sha256: m.sha256, compressedSha256: m.compressedSha256, size: m.size, compressedSize: m.compressedSize, keyId: m.keyId };
}
