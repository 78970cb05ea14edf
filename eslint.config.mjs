// Lint: typescript-eslint's recommended rules plus the layering rules of ARCHITECTURE.md, so the layer picture stays true
// (docs/architecture.md "Layering rules"; each rule has a fixture test in tests/unit/lint/):
// - src-main/core imports no outer layer: not src-main/rpc, headless, electron, preload, nor the renderer;
// - src-shared imports nothing of ours and nothing from Node or Electron;
// - src-runner imports only src-shared (never src-main or the renderer);
// - only src-main/electron/** and the preload import 'electron';
// - the renderer imports only src-shared (never src-main, src-runner or Node built-ins);
// - no import cycles among our modules (type-only imports do not count: they vanish at build time);
// - shell.openExternal is called only from src-main/electron/safe-external.ts;
// - src-main/core reads time and waits only through its Clock (src-main/core/clock.ts): no Date.now(), argument-less
//   new Date(), setTimeout or setInterval elsewhere in core (a few files not yet converted are listed below).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto', 'stream'];
/** Who may not import whom, by resolved file path (import-x/no-restricted-paths: target = the importing file). */
const layerZones = [
  {
    target: './src-main/core',
    from: ['./src-main/rpc', './src-main/headless', './src-main/electron', './src-main/preload', './src-renderer'],
    message: 'src-main/core is the inner layer: it must not import rpc, headless, electron, preload or the renderer (they depend on core, not the reverse).',
  },
  { target: './src-renderer', from: ['./src-main', './src-runner'], message: 'The renderer imports only src-shared; reach the app through the RPC contract.' },
  { target: './src-runner', from: ['./src-main', './src-renderer'], message: 'src-runner is shipped alone to servers: it may import src-shared only.' },
  { target: './src-shared', from: ['./src-main', './src-renderer', './src-runner'], message: 'src-shared imports nothing of ours.' },
];
/** Files whose imports are checked for cycles: our production code (tests are leaves) and the cycle fixture. */
const cycleCheckedFiles = ['src-main/**/*.ts', 'src-shared/**/*.ts', 'src-runner/**/*.ts', 'src-renderer/**/*.{ts,tsx}', 'tests/unit/lint/fixtures/cycle/**/*.ts'];

const openExternalBan = {
  selector: "MemberExpression[property.name='openExternal']",
  message: 'Open links only through openExternalSafely() in src-main/electron/safe-external.ts.',
};
const clockMessage = 'src-main/core takes time from its Clock (src-main/core/clock.ts: clock.now(), clock.setTimeout, sleep, every; retries: backoff.ts), so tests can run it on a ManualClock.';

const electronBan = { name: 'electron', message: "Only src-main/electron/** and the preload may import 'electron'." };

export default tseslint.config(
  { ignores: ['tests/unit/lint/fixtures/**', 'dist/**', 'out/**', 'release/**', 'node_modules/**', 'resources/**', 'test-results/**', 'playwright-report/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['src-main/**/*.ts', 'src-shared/**/*.ts', 'src-runner/**/*.ts', 'src-renderer/**/*.{ts,tsx}', 'tests/unit/lint/fixtures/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // .ts parsing and extensions from import-x's TypeScript preset; its built-in Node resolver instead of the
      // preset's eslint-import-resolver-typescript (imports here are relative or packages: no path aliases).
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver': undefined,
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.mts', '.js', '.mjs', '.json', '.node'] })],
    },
    rules: { 'import-x/no-restricted-paths': ['error', { zones: layerZones }] },
  },
  {
    files: cycleCheckedFiles,
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['src-renderer/**/*.{ts,tsx}'],
    rules: { 'import-x/no-nodejs-modules': 'error' },
  },
  {
    files: ['scripts/**/*.{js,mjs}', 'bench/**/*.{js,mjs}', '*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', __dirname: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly' } },
  },
  {
    files: ['src-shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [electronBan],
        patterns: [
          { group: ['../src-*', '../../src-*', '../../../src-*', '*/src-main/*', '*/src-renderer/*', '*/src-runner/*'], message: 'src-shared imports nothing of ours.' },
          { group: nodeBuiltins, message: 'src-shared is pure TypeScript: no Node built-ins.' },
        ],
      }],
    },
  },
  {
    // The one exception: the job channel's crypto runs only where Node runs (the app's main process and the runner),
    // and synchronously on node:crypto (Web Crypto cost ~35 ms of main thread per runner job). The renderer may not import it.
    files: ['src-shared/protocol/channel-auth.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [electronBan], patterns: [{ group: [...nodeBuiltins.filter((m) => m !== 'crypto'), '!node:crypto'], message: 'src-shared is pure TypeScript: here node:crypto only.' }] }] },
  },
  {
    files: ['src-main/**/*.ts', 'src-runner/**/*.ts', 'tests/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src-main/electron/**', 'src-main/preload/**', 'tests/unit/electron/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [electronBan] }] },
  },
  {
    files: ['src-renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [electronBan],
        patterns: [
          { group: ['**/src-main/**', '**/src-runner/**'], message: 'The renderer imports only src-shared.' },
          { group: ['**/protocol/channel-auth'], message: 'The job channel crypto runs on node:crypto: main process and runner only.' },
          { group: nodeBuiltins, message: 'The renderer runs in a sandboxed page: no Node built-ins.' },
        ],
      }],
    },
  },
  {
    files: ['src-main/**/*.ts'],
    ignores: ['src-main/electron/safe-external.ts'],
    rules: {
      'no-restricted-syntax': ['error', openExternalBan],
    },
  },
  {
    files: ['src-main/core/**/*.ts'],
    // The one exception: the system Clock itself. SSH socket timers, log write batching, JWT times and row stamps
    // all take the injected Clock.
    ignores: ['src-main/core/clock.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: clockMessage }],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: clockMessage }, { name: 'setInterval', message: clockMessage }],
      'no-restricted-syntax': ['error', openExternalBan, { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: clockMessage }],
    },
  },
);
