/**
 * One owner per table (issue 11 item 2): SQL (kysely query builders, sql`` templates, raw prepared statements) lives
 * only in store modules. A store is a file named `*-store.ts`, the database layer (src-main/core/db/), or one of the
 * few stores listed below whose names predate the convention. Everything else goes through a store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../../..');
const SRC = path.join(ROOT, 'src-main');

/** Query builders and raw SQL entry points that mark a line as SQL. */
const SQL_PATTERNS: Array<[name: string, re: RegExp]> = [
  ['selectFrom', /\.selectFrom\s*\(/],
  ['insertInto', /\.insertInto\s*\(/],
  ['updateTable', /\.updateTable\s*\(/],
  ['deleteFrom', /\.deleteFrom\s*\(/],
  ['sql`', /\bsql\s*(<[^>]*>)?\s*`/],
  ['.prepare(', /\.prepare\s*\(/],
];

/** Stores whose file names predate the `*-store.ts` convention (files are not renamed while others edit the tree). */
const NAMED_STORES: Record<string, string> = {
  'src-main/core/runners/runner-deployments.ts': 'the runner_deployments store (owner: "runner")',
};

/**
 * Files that still hold SQL of a table whose store is being made by another engineer this session. Each entry names
 * its owner; remove it once that file goes through its store (the second test fails while an entry is stale).
 */
const NOT_YET_MOVED: Record<string, string> = {
};

function isStore(rel: string): boolean {
  return rel.endsWith('-store.ts') || rel.startsWith('src-main/core/db/') || rel in NAMED_STORES;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|tsx|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** `file:line: pattern` for every SQL line outside a store (comment lines ignored). */
function sqlLines(rel: string, text: string): string[] {
  const hits: string[] = [];
  text.split('\n').forEach((line, i) => {
    const code = line.trim();
    if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return;
    for (const [name, re] of SQL_PATTERNS) if (re.test(line)) hits.push(`${rel}:${i + 1}: ${name}  ${code.slice(0, 100)}`);
  });
  return hits;
}

function offenders(): Map<string, string[]> {
  const byFile = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    if (isStore(rel)) continue;
    const hits = sqlLines(rel, fs.readFileSync(file, 'utf8'));
    if (hits.length) byFile.set(rel, hits);
  }
  return byFile;
}

describe('SQL outside stores', () => {
  it('is found nowhere in src-main except the files still waiting for their owner', () => {
    const found = offenders();
    const unexpected = [...found].filter(([rel]) => !(rel in NOT_YET_MOVED)).flatMap(([, hits]) => hits);
    expect(unexpected, `SQL outside a store (move it into the table's *-store.ts):\n${unexpected.join('\n')}`).toEqual([]);
  });

  it('has no stale entry in the waiting list', () => {
    const found = offenders();
    const stale = Object.keys(NOT_YET_MOVED).filter((rel) => !found.has(rel));
    expect(stale, `these files no longer hold SQL; remove them from NOT_YET_MOVED: ${stale.join(', ')}`).toEqual([]);
  });

  it('recognises each kind of SQL line (so the check can fail)', () => {
    const sample = [
      "db.kysely.selectFrom('jobs')",
      "trx.insertInto('events')",
      "k.updateTable('servers')",
      "k.deleteFrom('logs')",
      'sql`rowid`',
      'sql<string>`x`',
      "db.sqlite.prepare('SELECT 1')",
    ].join('\n');
    expect(sqlLines('x.ts', sample).map((h) => h.split(': ')[1]!.split(' ')[0])).toEqual(['selectFrom', 'insertInto', 'updateTable', 'deleteFrom', 'sql`', 'sql`', '.prepare(']);
    expect(sqlLines('x.ts', ' * db.kysely.selectFrom in a comment')).toEqual([]);
  });
});
