/**
 * The layering rules of eslint.config.mjs fire where they should: each fixture is linted as if placed at a forbidden
 * path and must be reported by the named rule; an allowed import is not; the real source tree passes them all.
 */
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { lintFixtureAs, lintRealFiles, repoRoot } from './lint-fixture';

const LAYER_RULE = 'import-x/no-restricted-paths';

describe('layering lint rules', () => {
  it.each([
    ['core-imports-rpc.ts.txt', LAYER_RULE, /src-main\/core is the inner layer/],
    ['core-imports-headless.ts.txt', LAYER_RULE, /src-main\/core is the inner layer/],
    ['core-imports-electron.ts.txt', LAYER_RULE, /src-main\/core is the inner layer/],
    ['core-imports-renderer.ts.txt', LAYER_RULE, /src-main\/core is the inner layer/],
    ['renderer-imports-main.ts.txt', LAYER_RULE, /renderer imports only src-shared/],
    ['renderer-imports-node.ts.txt', 'import-x/no-nodejs-modules', /builtin module "node:fs"/],
    ['runner-imports-main.ts.txt', LAYER_RULE, /src-runner .* may import src-shared only/],
    ['shared-imports-node.ts.txt', 'no-restricted-imports', /src-shared is pure TypeScript: no Node built-ins/],
    ['channel-auth-imports-fs.ts.txt', 'no-restricted-imports', /here node:crypto only/],
    ['renderer-imports-channel-auth.ts.txt', 'no-restricted-imports', /main process and runner only/],
  ])('%s is reported by %s', async (fixture, ruleId, message) => {
    const { findings } = await lintFixtureAs(`layering/${fixture}`);
    expect(findings).toContainEqual({ ruleId, message: expect.stringMatching(message) });
  });

  it('lets the runner import src-shared', async () => {
    const { findings } = await lintFixtureAs('layering/allowed-imports.ts.txt');
    expect(findings).toEqual([]);
  });

  it('lets the job channel crypto, and only it in src-shared, import node:crypto', async () => {
    const { findings } = await lintFixtureAs('layering/channel-auth-imports-crypto.ts.txt');
    expect(findings).toEqual([]);
  });

  it('reports an import cycle', async () => {
    const findings = await lintRealFiles(['tests/unit/lint/fixtures/cycle/cycle-a.ts']);
    expect(findings).toContainEqual({ ruleId: 'import-x/no-cycle', message: expect.stringMatching(/Dependency cycle detected/) });
  });

  it('passes on the real source tree', { timeout: 120_000 }, async () => {
    const isLayerRule = (ruleId: string) => ruleId.startsWith('import-x/') || ruleId === 'no-restricted-imports';
    const eslint = new ESLint({ cwd: repoRoot, ruleFilter: ({ ruleId }) => isLayerRule(ruleId) });
    const results = await eslint.lintFiles(['src-main', 'src-shared', 'src-runner', 'src-renderer']);
    const layerFindings = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.ruleId} ${m.message}`));
    expect(results.length).toBeGreaterThan(100);
    expect(layerFindings).toEqual([]);
  });
});
