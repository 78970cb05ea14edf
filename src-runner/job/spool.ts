/**
 * Spool: every output line of a job, numbered, on the server's disk (~/.cronium/jobs/<id>/spool/<firstSeq>.jsonl
 * segments of JSON lines) before it is sent, so a line survives a lost link, a lost app and a restarted runner.
 * Lines are written with one write per batch (per MB of it) and fdatasync'd at most every SYNC_INTERVAL_MS;
 * acknowledged segments are deleted. It owns the segment files and never rewrites a line once written.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WireLine } from '../../src-shared/protocol/runner-wire';

const SEGMENT_MAX_BYTES = 8 * 1024 * 1024;
const SYNC_INTERVAL_MS = 100;
/** The reused buffer append() encodes lines into (written out when full). */
const WRITE_BUFFER_BYTES = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const SEQ_KEY = Buffer.from('{"seq":', 'latin1');

interface Segment {
  first: number;
  last: number;
  file: string;
  bytes: number;
}

export class Spool {
  private readonly segments: Segment[] = [];
  private fd: number | null = null;
  private syncTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  private cache: { file: string; last: number; lines: WireLine[] } | null = null;
  lastSeq = 0;
  private readonly buf = Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
  private used = 0;

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Recover what an earlier runner process wrote (resume after a crash or after the supervisor exited).
    const names = fs.readdirSync(dir).filter((n) => /^\d{16}\.jsonl$/.test(n)).sort();
    for (const name of names) {
      const file = path.join(dir, name);
      const first = Number(name.slice(0, 16));
      const lines = readLines(file);
      // Cut a torn last line (the runner was killed mid-write): it was never sent, its number is reused.
      const good = lines.reduce((n, l) => n + Buffer.byteLength(JSON.stringify(l)) + 1, 0);
      if (good < fs.statSync(file).size) fs.truncateSync(file, good);
      const last = lines.length ? lines[lines.length - 1].seq : first - 1;
      this.segments.push({ first, last, file, bytes: fs.statSync(file).size });
      if (last > this.lastSeq) this.lastSeq = last;
    }
  }

  /** Total bytes on disk (for health messages). */
  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  /** Appends lines whose seqs continue lastSeq. Written (to the page cache) before this returns. */
  append(lines: WireLine[]): void {
    if (lines.length === 0) return;
    let seg = this.segments[this.segments.length - 1];
    if (!seg || this.fd === null || seg.bytes >= SEGMENT_MAX_BYTES) {
      this.closeFd(false);
      const first = lines[0].seq;
      seg = { first, last: first - 1, file: path.join(this.dir, `${String(first).padStart(16, '0')}.jsonl`), bytes: 0 };
      this.segments.push(seg);
      this.fd = fs.openSync(seg.file, 'a', 0o600);
    }
    // The bytes JSON.stringify(line) makes (keys in WireLine's order), written straight into one reused buffer: the
    // digits of seq and a text of plain printable ASCII byte by byte, any other text as its JSON.stringify. Written
    // out whenever the buffer could not hold the next line, and at the end. Building each line's JSON string and
    // encoding it cost the runner about a quarter of its CPU per streamed line.
    const buf = this.buf;
    let written = 0;
    let off = this.used;
    let ts = '';
    let stream = '';
    let middle = EMPTY;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      const text = l.text;
      if (l.ts !== ts || l.stream !== stream) {
        ts = l.ts;
        stream = l.stream;
        middle = Buffer.from(`,"stream":${JSON.stringify(stream)},"ts":${JSON.stringify(ts)},"text":`, 'utf8');
      }
      // At most: the seq's 16 digits, the keys, and 6 bytes per UTF-16 unit of text (a \uXXXX escape).
      const most = 32 + middle.length + 6 * text.length;
      if (off + most > buf.length) {
        this.used = off;
        written += this.flush();
        off = 0;
        if (most > buf.length) {
          const json = `{"seq":${l.seq},"stream":${JSON.stringify(stream)},"ts":${JSON.stringify(ts)},"text":${JSON.stringify(text)}}\n`;
          written += this.writeAll(Buffer.from(json, 'utf8'));
          continue;
        }
      }
      buf.set(SEQ_KEY, off);
      off = putDigits(buf, off + SEQ_KEY.length, l.seq);
      buf.set(middle, off);
      off += middle.length;
      off = putJsonString(buf, off, text);
      buf[off++] = 0x7d; // }
      buf[off++] = 0x0a; // \n
    }
    this.used = off;
    written += this.flush();
    seg.bytes += written;
    seg.last = lines[lines.length - 1].seq;
    this.lastSeq = seg.last;
    this.dirty = true;
    if (!this.syncTimer) {
      this.syncTimer = setTimeout(() => this.sync(), SYNC_INTERVAL_MS);
      this.syncTimer.unref();
    }
  }

  /** Writes the buffer out; bytes written. */
  private flush(): number {
    const n = this.used;
    this.used = 0;
    return n === 0 ? 0 : this.writeAll(this.buf.subarray(0, n));
  }

  private writeAll(bytes: Buffer): number {
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd!, bytes, off);
    return bytes.length;
  }

  /**
   * Flushes written lines to the disk. Off the event loop (the lines are already in the page cache, which survives
   * our own crash; this is for a power loss), so a slow disk never stalls streaming or heartbeats.
   */
  sync(): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (this.fd !== null && this.dirty) {
      this.dirty = false;
      fs.fdatasync(this.fd, () => undefined);
    }
  }

  /**
   * Lines with seq in [from, to], read from disk, at most maxBytes counting each line's text plus `lineOverhead`
   * bytes (what a line costs on the wire besides its text; at least one line).
   */
  read(from: number, to: number, maxBytes: number, lineOverhead: number): WireLine[] {
    const out: WireLine[] = [];
    let bytes = 0;
    for (const seg of this.segments) {
      if (seg.last < from || seg.first > to) continue;
      // A replay reads one segment many times in a row: parse it once (lines never change once written, so a parse
      // that reaches `to` serves later reads too while the segment grows).
      if (this.cache?.file !== seg.file || this.cache.last < Math.min(to, seg.last)) this.cache = { file: seg.file, last: seg.last, lines: readLines(seg.file) };
      for (const line of this.cache.lines) {
        if (line.seq < from || line.seq > to) continue;
        if (out.length > 0 && bytes + line.text.length > maxBytes) return out;
        out.push(line);
        bytes += line.text.length + lineOverhead;
      }
      if (out.length > 0 && out[out.length - 1].seq >= to) break;
    }
    return out;
  }

  /** Forgets segments wholly acknowledged (never the one being written). */
  trim(upTo: number): void {
    while (this.segments.length > 1 && this.segments[0].last <= upTo) {
      const seg = this.segments.shift()!;
      if (this.cache?.file === seg.file) this.cache = null;
      fs.rmSync(seg.file, { force: true });
    }
  }

  /** Removes every segment (the app has everything). */
  removeAll(): void {
    this.closeFd();
    this.cache = null;
    for (const seg of this.segments.splice(0)) fs.rmSync(seg.file, { force: true });
  }

  close(): void {
    this.closeFd();
  }

  /**
   * Flushes and closes the segment being written. `wait` false (a full segment, mid-stream): the flush runs off the
   * event loop and the descriptor is closed once it is done, so its number cannot be reused while the flush runs.
   */
  private closeFd(wait = true): void {
    if (this.fd === null) return;
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    const fd = this.fd;
    this.fd = null;
    this.dirty = false;
    if (!wait) {
      fs.fdatasync(fd, () => fs.close(fd, () => undefined));
      return;
    }
    try {
      fs.fdatasyncSync(fd);
    } catch {}
    fs.closeSync(fd);
  }
}

/** Writes a whole number from 0 as JSON.stringify does (a seq: a safe integer); the offset after it. */
function putDigits(buf: Buffer, off: number, n: number): number {
  let end = off + 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) end++;
  for (let at = end - 1, x = n; at >= off; at--, x = Math.floor(x / 10)) buf[at] = 0x30 + (x % 10);
  return end;
}

/**
 * Writes JSON.stringify(text)'s UTF-8 bytes; the offset after them. Plain printable ASCII (no quote, no backslash) is
 * copied as it is; a text with anything else is written as JSON.stringify makes it.
 */
function putJsonString(buf: Buffer, off: number, text: string): number {
  buf[off] = 0x22;
  const start = off + 1;
  let at = start;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return off + buf.write(JSON.stringify(text), off, 'utf8');
    buf[at++] = c;
  }
  buf[at++] = 0x22;
  return at;
}

function readLines(file: string): WireLine[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: WireLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    try {
      out.push(JSON.parse(raw) as WireLine);
    } catch {
      break;
    }
  }
  return out;
}
