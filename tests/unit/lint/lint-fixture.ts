/**
 * Lints a fixture from tests/unit/lint/fixtures/ with the project's real eslint.config.mjs, as if the file sat at the
 * path named on its first line (`// lint-as: <path>`), so a test can prove a rule fires at a path it guards.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';

export const repoRoot = resolve(__dirname, '../../..');
export const fixturesDir = join(__dirname, 'fixtures');

let shared: ESLint | undefined;
/** One ESLint instance for the file (loading the config and the resolver costs about a second). */
export function projectEslint(): ESLint {
  shared ??= new ESLint({ cwd: repoRoot });
  return shared;
}

export interface Finding {
  ruleId: string | null;
  message: string;
}

/** Lints fixtures/<name> at the path its `// lint-as:` line names; returns the findings. */
export async function lintFixtureAs(name: string): Promise<{ filePath: string; findings: Finding[] }> {
  const code = readFileSync(join(fixturesDir, name), 'utf8');
  const lintAs = /^\/\/ lint-as: (\S+)/.exec(code)?.[1];
  if (!lintAs) throw new Error(`fixture ${name} has no "// lint-as: <path>" first line`);
  const filePath = join(repoRoot, lintAs);
  const [result] = await projectEslint().lintText(code, { filePath });
  return { filePath, findings: result.messages.map((m) => ({ ruleId: m.ruleId, message: m.message })) };
}

/** Lints real files (paths relative to the repo root), including ignored fixtures. */
export async function lintRealFiles(paths: string[]): Promise<Finding[]> {
  const eslint = new ESLint({ cwd: repoRoot, ignore: false });
  const results = await eslint.lintFiles(paths.map((p) => join(repoRoot, p)));
  return results.flatMap((r) => r.messages.map((m) => ({ ruleId: m.ruleId, message: `${r.filePath}: ${m.message}` })));
}
