// The spool writes each line as exactly the JSON of its WireLine (what a spool of an earlier runner holds and what
// recovery reads back), although it builds that text by hand for speed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool } from '../../../src-runner/job/spool';
import type { WireLine } from '../../../src-shared/protocol/runner-wire';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('the spool file format', () => {
  it('is one JSON.stringify(line) per line, and reads back the same lines after a restart', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-format-'));
    dirs.push(dir);
    const lines: WireLine[] = [
      { seq: 1, stream: 'stdout', ts: '2026-01-01T00:00:00.000Z', text: 'plain' },
      { seq: 2, stream: 'stderr', ts: '2026-01-01T00:00:00.000Z', text: 'q"uote \\ back\ttab \u0001 \u00e9 \u{1F600} \ud800' },
      { seq: 3, stream: 'stdout', ts: '2026-01-01T00:00:01.000Z', text: '' },
    ];
    const spool = new Spool(dir);
    spool.append(lines);
    spool.close();
    const [file] = fs.readdirSync(dir);
    expect(fs.readFileSync(path.join(dir, file), 'utf8')).toBe(lines.map((l) => JSON.stringify(l) + '\n').join(''));
    const again = new Spool(dir);
    expect(again.lastSeq).toBe(3);
    expect(again.read(1, 3, 1 << 20, 64)).toEqual(lines);
    again.close();
  });

  it('stays one JSON.stringify(line) per line in big batches that fill more than one segment', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-format-'));
    dirs.push(dir);
    // Batches longer than the lines encoded at a time, with multi-byte and escaped text around every 256th line, and
    // lines long enough that the second batch fills the 8 MB segment and the third starts the next one.
    const lines: WireLine[] = [];
    for (let seq = 1; seq <= 1300; seq++) {
      const odd = seq % 256 === 0 || seq % 256 === 1 ? ` \u00e9\u{1F600}"\\\n${seq}` : '';
      lines.push({ seq, stream: seq % 3 === 0 ? 'stderr' : 'stdout', ts: `2026-01-01T00:00:0${seq % 7}.000Z`, text: `${'x'.repeat(seq > 300 ? 9000 : seq)}${odd}` });
    }
    const spool = new Spool(dir);
    spool.append(lines.slice(0, 300));
    spool.append(lines.slice(300, 1299));
    spool.append(lines.slice(1299));
    spool.close();
    const files = fs.readdirSync(dir).sort();
    expect(files.length).toBe(2);
    expect(files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('')).toBe(lines.map((l) => JSON.stringify(l) + '\n').join(''));
    const again = new Spool(dir);
    expect(again.lastSeq).toBe(1300);
    expect(again.read(1, 1300, 1 << 30, 64)).toEqual(lines);
    // A replay batch is sized by the wire format's cost per line: 8 bytes (columns) fits more lines than 64 (plain).
    expect(again.read(1, 300, 20_000, 64).length).toBe(145);
    expect(again.read(1, 300, 20_000, 8).length).toBe(191);
    again.close();
  });

  it('writes any text and seq exactly as JSON.stringify does, across buffer flushes and for lines longer than the buffer', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-format-'));
    dirs.push(dir);
    // Every character class the byte writer treats apart (the printable ASCII bounds, quote, backslash, control
    // characters, DEL, non-ASCII, surrogate pairs and lone surrogates), seqs of every digit count, a text longer than
    // the write buffer, and enough lines in one append that the buffer is written out several times.
    const odd = [' ', '~', '\u001f', '\u007f', '\u0080', '"', '\\', '/', '\u2028', '\u{1F600}', '\udc00', '\ud83d', 'a\u0000b', '\r'];
    const lines: WireLine[] = [];
    let seq = 1;
    for (const text of odd) lines.push({ seq: seq++, stream: 'stdout', ts: '2026-01-01T00:00:00.000Z', text });
    lines.push({ seq: seq++, stream: 'stderr', ts: '2026-01-01T00:00:00.000Z', text: 'é'.repeat(200_000) });
    lines.push({ seq: seq++, stream: 'stderr', ts: '2026-01-01T00:00:00.000Z', text: 'x'.repeat(400_000) });
    for (let i = 0; i < 40_000; i++) lines.push({ seq: seq++, stream: i % 2 ? 'stderr' : 'stdout', ts: `2026-01-01T00:00:0${i % 3}.000Z`, text: `${i} ${odd[i % odd.length]} ${'y'.repeat(i % 50)}` });
    const spool = new Spool(dir);
    spool.append(lines);
    const big = [9, 10, 99, 100, 12_345_678, 1_000_000_000, 2 ** 31, 2 ** 32 + 1, 999_999_999_999_999, Number.MAX_SAFE_INTEGER];
    // Seqs of every length (a spool continued after a resume starts anywhere), written by themselves.
    const tail = big.map((n): WireLine => ({ seq: n, stream: 'stdout', ts: '2026-01-01T00:00:09.000Z', text: `seq ${n}` }));
    for (const l of tail) spool.append([l]);
    spool.close();
    const text = fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('');
    expect(text).toBe([...lines, ...tail].map((l) => JSON.stringify(l) + '\n').join(''));
  });

  it('reads lines appended after an earlier read of the same segment (a resend while the job still prints)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-format-'));
    dirs.push(dir);
    const line = (seq: number): WireLine => ({ seq, stream: 'stdout', ts: '2026-01-01T00:00:00.000Z', text: `line ${seq}` });
    const spool = new Spool(dir);
    spool.append([1, 2, 3, 4, 5].map(line));
    expect(spool.read(2, 5, 1 << 20, 8).map((l) => l.seq)).toEqual([2, 3, 4, 5]);
    spool.append([6, 7, 8].map(line));
    // Within what the first read parsed, and beyond it.
    expect(spool.read(1, 3, 1 << 20, 8).map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(spool.read(4, 8, 1 << 20, 8).map((l) => l.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(spool.read(7, 100, 1 << 20, 8)).toEqual([line(7), line(8)]);
    spool.close();
  });
});
