/**
 * The runner's output path on a real spool folder: a script printing a secret (whole, split across chunks at any
 * offset, inside a line longer than the wire bound, or a secret variable it read) leaves no trace of it in the spool
 * files on the server's disk, and every spooled line still fits the wire bound.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MASK } from '../../../src-shared/logs/secret-masker';
import { MAX_LINE_CHARS, WireLine } from '../../../src-shared/protocol/runner-wire';
import { JobOutput } from '../../../src-runner/job/job-output';
import { Spool } from '../../../src-runner/job/spool';

const SECRET = 's3cr3t-tøken-Ω';
const VARIABLE_SECRET = 'db-pass-9f8e';
const SHORT = 'k9q';

let dir: string;
let spool: Spool;

function spooledText(): string {
  spool.close();
  return fs.readdirSync(dir).map((n) => fs.readFileSync(path.join(dir, n), 'utf8')).join('');
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-spool-'));
  spool = new Spool(dir);
});
afterEach(() => {
  spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the runner spooling job output', () => {
  describe('when the script prints a secret split across chunks at every offset', () => {
    it('spools it masked, never the value', () => {
      const output = new JobOutput(spool, [SECRET, VARIABLE_SECRET]);
      const bytes = Buffer.from(`token=${SECRET}\nvar ${VARIABLE_SECRET} end\n`, 'utf8');
      const texts: string[] = [];
      for (let at = 0; at <= bytes.length; at++) {
        for (const l of [...output.push('stdout', bytes.subarray(0, at)), ...output.push('stdout', bytes.subarray(at))]) texts.push(l.text);
      }
      texts.push(...output.end().map((l) => l.text));
      expect(texts).toHaveLength(2 * (bytes.length + 1));
      expect(new Set(texts)).toEqual(new Set([`token=${MASK}`, `var ${MASK} end`]));
      const disk = spooledText();
      expect(disk).not.toContain(SECRET);
      expect(disk).not.toContain(JSON.stringify(SECRET).slice(1, -1));
      expect(disk).not.toContain(VARIABLE_SECRET);
      expect(disk).toContain(MASK);
    });
  });

  describe('when a line longer than the wire bound holds secrets across the cut', () => {
    it('masks before cutting, and every spooled line fits the wire bound', () => {
      const output = new JobOutput(spool, [SECRET, SHORT]);
      // Many short secrets (which grow when masked) and a long one straddling the bound, in one unterminated line.
      const line = `${SHORT} `.repeat(40_000) + 'x'.repeat(MAX_LINE_CHARS - 160_000 - 5) + SECRET + 'y'.repeat(1000);
      const bytes = Buffer.from(line, 'utf8');
      const lines: WireLine[] = [];
      for (let off = 0; off < bytes.length; off += 4096) lines.push(...output.push('stderr', bytes.subarray(off, off + 4096)));
      lines.push(...output.end());
      expect(lines.length).toBeGreaterThan(1);
      for (const l of lines) expect(WireLine.safeParse(l).success).toBe(true);
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
      const disk = spooledText();
      expect(disk).not.toContain(SECRET);
      expect(disk).not.toContain(SHORT);
      expect(disk).not.toContain('tøken');
    });
  });

  describe('when the runner holds no secret', () => {
    it('spools the output as printed', () => {
      const output = new JobOutput(spool, []);
      output.push('stdout', Buffer.from('plain line\nlast'));
      output.end();
      expect(spool.read(1, 10, 1 << 20, 64).map((l) => l.text)).toEqual(['plain line', 'last']);
    });
  });
});
