/**
 * Log block codec: turns a run of log lines into one compact buffer (a `log_blocks` row) and back, exactly.
 * Columns are laid out one after the other (sequence deltas, stream codes, timestamp deltas, text lengths, text), which
 * deflate compresses far better than interleaved rows; a sealed block is deflated, a live chunk of the open block is
 * stored as is. Pure: no SQL, no I/O (the LogStore and the 0009 migration's SQL function both call it).
 */
import zlib from 'node:zlib';
import type { LogLine, LogStream } from '../../../src-shared/contract/logs';

/** Format version in the high nibble of the first byte; the low bits are the flags below. */
const FORMAT_V1 = 0x10;
const FLAG_DEFLATE = 0x01;
/** Timestamps stored as strings (some line's ts is not the canonical ISO form of its milliseconds). */
const FLAG_TS_STRINGS = 0x02;
/** Text stored as UTF-16LE (some line holds a lone surrogate, which UTF-8 cannot carry exactly). */
const FLAG_UTF16 = 0x04;
/**
 * deflate level for sealed blocks. On the typical-log bench lines, level 4 takes about a third of level 6's time for
 * about 12% more space (48 against 42 bytes of deflate per line); level 1 would save little more time for 29% more.
 */
const DEFLATE_LEVEL = 4;

const STREAM_CODES: Record<LogStream, number> = { stdout: 0, stderr: 1, system: 2 };
const STREAMS: LogStream[] = ['stdout', 'stderr', 'system'];

/** A growable byte buffer with LEB128 varints (numbers up to 2^53, no 32-bit bitwise tricks). */
class ByteWriter {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, size));
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  varint(n: number): void {
    this.ensure(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }
  /** Zig-zag for signed deltas (timestamps may go backwards). */
  svarint(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
  string(s: string, encoding: BufferEncoding): void {
    const max = encoding === 'utf16le' ? s.length * 2 : s.length * 3;
    this.ensure(max);
    this.pos += this.buf.write(s, this.pos, encoding);
  }
}

class ByteReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  byte(): number {
    return this.buf[this.pos++];
  }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('log block is truncated');
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 0x80;
    }
  }
  svarint(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
}

/** String.prototype.isWellFormed (Node 20; the TypeScript lib in use predates it): no lone surrogate. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Milliseconds of `ts` when it is exactly the canonical `toISOString()` form, else NaN. */
function canonicalMs(ts: string): number {
  if (ts.length !== 24 || ts.charCodeAt(23) !== 90 /* Z */) return NaN;
  const ms = Date.parse(ts);
  if (!Number.isFinite(ms) || new Date(ms).toISOString() !== ts) return NaN;
  return ms;
}

export interface EncodedBlock {
  data: Buffer;
  firstSeq: number;
  lastSeq: number;
  lineCount: number;
  /** stdout and stderr lines (not the app's own 'system' lines). */
  outputCount: number;
  /** Text size as logs.byte_count counts it (characters plus one newline per line). */
  textBytes: number;
}

/** Encodes lines (seq ascending) into one block; `compress` deflates it (sealed blocks). */
export function encodeLogBlock(lines: readonly LogLine[], compress: boolean): EncodedBlock {
  const n = lines.length;
  if (n === 0) throw new Error('a log block holds at least one line');
  let flags = FORMAT_V1;
  let chars = 0;
  let outputCount = 0;
  // The text column is the texts one after the other: joined once, it is one write (and one check) for the block.
  const texts = new Array<string>(n);
  // Timestamps: one parse per distinct string (a chunk's lines share one).
  const ms = new Array<number>(n);
  let prevTs: string | undefined;
  let prevMs = 0;
  let tsStrings = false;
  for (let i = 0; i < n; i++) {
    const l = lines[i];
    chars += l.text.length;
    if (l.stream !== 'system') outputCount++;
    texts[i] = l.text;
    if (!tsStrings) {
      if (l.ts !== prevTs) {
        prevMs = canonicalMs(l.ts);
        prevTs = l.ts;
        if (Number.isNaN(prevMs)) tsStrings = true;
      }
      ms[i] = prevMs;
    }
  }
  if (tsStrings) flags |= FLAG_TS_STRINGS;
  const text = texts.join('');
  // A lone surrogate anywhere in the column (the decoder slices the decoded column by UTF-16 lengths, so a pair formed
  // across two lines only by joining them comes back apart exactly).
  const wellFormed = isWellFormed(text);
  if (!wellFormed) flags |= FLAG_UTF16;
  const textEncoding: BufferEncoding = wellFormed ? 'utf8' : 'utf16le';

  const w = new ByteWriter(n * 8 + chars + 16);
  w.byte(flags);
  w.varint(n);
  w.varint(lines[0].seq);
  for (let i = 1; i < n; i++) w.varint(lines[i].seq - lines[i - 1].seq);
  for (let i = 0; i < n; i++) w.byte(STREAM_CODES[lines[i].stream]);
  if (tsStrings) {
    for (let i = 0; i < n; i++) {
      const b = Buffer.byteLength(lines[i].ts, 'utf8');
      w.varint(b);
      w.string(lines[i].ts, 'utf8');
    }
  } else {
    let last = 0;
    for (let i = 0; i < n; i++) {
      w.svarint(ms[i] - last);
      last = ms[i];
    }
  }
  // Lengths in UTF-16 code units: the text column decodes as one string and is sliced by them.
  for (let i = 0; i < n; i++) w.varint(lines[i].text.length);
  w.string(text, textEncoding);
  const raw = w.buf.subarray(0, w.pos);
  let data: Buffer;
  if (compress) {
    const body = zlib.deflateRawSync(raw.subarray(1), { level: DEFLATE_LEVEL });
    data = Buffer.allocUnsafe(body.length + 1);
    data[0] = flags | FLAG_DEFLATE;
    body.copy(data, 1);
  } else {
    data = Buffer.from(raw);
  }
  return { data, firstSeq: lines[0].seq, lastSeq: lines[n - 1].seq, lineCount: n, outputCount, textBytes: chars + n };
}

/** A decoded block, column-wise: line i is seqs[i], streams[i], ts(i), text.slice(starts[i], starts[i + 1]). */
export interface DecodedBlock {
  seqs: number[];
  streams: LogStream[];
  tsAt(i: number): string;
  /** All texts concatenated; starts has n + 1 entries. */
  text: string;
  starts: Int32Array | number[];
  lineCount: number;
}

export function decodeLogBlock(data: Buffer): DecodedBlock {
  const flags = data[0];
  if ((flags & 0xf0) !== FORMAT_V1) throw new Error(`unknown log block format 0x${flags.toString(16)}`);
  const body = flags & FLAG_DEFLATE ? zlib.inflateRawSync(data.subarray(1)) : data.subarray(1);
  const r = new ByteReader(body);
  const n = r.varint();
  const seqs = new Array<number>(n);
  seqs[0] = r.varint();
  for (let i = 1; i < n; i++) seqs[i] = seqs[i - 1] + r.varint();
  const streams = new Array<LogStream>(n);
  for (let i = 0; i < n; i++) {
    const s = STREAMS[r.byte()];
    if (!s) throw new Error('log block has an unknown stream code');
    streams[i] = s;
  }
  let tsAt: (i: number) => string;
  if (flags & FLAG_TS_STRINGS) {
    const strings = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const len = r.varint();
      strings[i] = body.toString('utf8', r.pos, r.pos + len);
      r.pos += len;
    }
    tsAt = (i) => strings[i];
  } else {
    const ms = new Array<number>(n);
    let last = 0;
    for (let i = 0; i < n; i++) ms[i] = last += r.svarint();
    let cacheMs = NaN;
    let cacheIso = '';
    tsAt = (i) => {
      if (ms[i] !== cacheMs) {
        cacheMs = ms[i];
        cacheIso = new Date(cacheMs).toISOString();
      }
      return cacheIso;
    };
  }
  const starts = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) starts[i + 1] = starts[i] + r.varint();
  const text = body.toString(flags & FLAG_UTF16 ? 'utf16le' : 'utf8', r.pos);
  if (text.length !== starts[n]) throw new Error('log block text does not match its line lengths');
  return { seqs, streams, tsAt, text, starts, lineCount: n };
}

/** Line i of a decoded block. */
export function blockLine(b: DecodedBlock, i: number): LogLine {
  return { seq: b.seqs[i], stream: b.streams[i], ts: b.tsAt(i), text: b.text.slice(b.starts[i], b.starts[i + 1]) };
}

/** Indexes of the lines whose text contains `needleLower` (already lower-cased), case-insensitively, ascending. */
export function searchBlock(b: DecodedBlock, needleLower: string, from = 0): number[] {
  const found: number[] = [];
  const lowered = b.text.toLowerCase();
  if (lowered.length !== b.text.length) {
    // Lower-casing changed some lengths (rare letters): compare line by line.
    for (let i = from; i < b.lineCount; i++) {
      if (b.text.slice(b.starts[i], b.starts[i + 1]).toLowerCase().includes(needleLower)) found.push(i);
    }
    return found;
  }
  let line = from;
  let at = b.starts[from];
  for (;;) {
    const hit = lowered.indexOf(needleLower, at);
    if (hit < 0) break;
    // The line holding `hit` (starts is ascending): move forward, since hits come in order.
    while (line < b.lineCount && b.starts[line + 1] <= hit) line++;
    if (line >= b.lineCount) break;
    if (hit + needleLower.length <= b.starts[line + 1]) {
      found.push(line);
      at = b.starts[line + 1];
      line++;
    } else {
      // The match crosses into the next line's text: not a match for this line.
      at = hit + 1;
    }
  }
  return found;
}
