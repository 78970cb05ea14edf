// Lint: typescript-eslint's recommended rules plus the layering rules of ARCHITECTURE.md, so the layer picture stays true:
// - src-shared imports nothing of ours and nothing from Node or Electron;
// - only src-main/electron/** and the preload import 'electron';
// - the renderer imports only src-shared (never src-main, src-runner or Node built-ins);
// - shell.openExternal is called only from src-main/electron/safe-external.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto', 'stream'];
const electronBan = { name: 'electron', message: "Only src-main/electron/** and the preload may import 'electron'." };

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'release/**', 'node_modules/**', 'resources/**', 'test-results/**', 'playwright-report/**', '.cache/**'] },
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
          { group: nodeBuiltins, message: 'The renderer runs in a sandboxed page: no Node built-ins.' },
        ],
      }],
    },
  },
  {
    files: ['src-main/**/*.ts'],
    ignores: ['src-main/electron/safe-external.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "MemberExpression[property.name='openExternal']",
        message: 'Open links only through openExternalSafely() in src-main/electron/safe-external.ts.',
      }],
    },
  },
);
