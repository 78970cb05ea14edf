/**
 * LogLineWindow: the log viewer's bounded memory of a log's lines. Lines are addressed by sequence number (1..count)
 * and kept in fixed-size pages; only the most recently used pages are held, so a log of millions of lines costs a few
 * pages of memory. It knows which pages the visible range still needs; it never fetches anything itself.
 */
import type { LogLine } from '../../../src-shared/contract/logs';

interface Page {
  lines: Array<LogLine | undefined>;
  /** Every seq of this page up to here is known (present, or a real gap in the log). */
  completeUpTo: number;
  lastUsed: number;
}

export class LogLineWindow {
  private readonly pages = new Map<number, Page>();
  private readonly requested = new Set<number>();
  private clock = 0;
  /** The highest sequence number the log is known to have: the viewer shows rows 1..count. */
  count = 0;
  /** The highest sequence number received (pages or pushes); pushed lines at or below it are duplicates. */
  lastReceived = 0;

  constructor(
    readonly pageSize = 1000,
    readonly maxPages = 100,
  ) {}

  pageOf(seq: number): number {
    return Math.floor((seq - 1) / this.pageSize);
  }

  private pageStart(page: number): number {
    return page * this.pageSize + 1;
  }

  get(seq: number): LogLine | undefined {
    const page = this.pages.get(this.pageOf(seq));
    return page?.lines[(seq - 1) % this.pageSize];
  }

  /** How many pages are held now (bounded by maxPages). */
  get heldPages(): number {
    return this.pages.size;
  }

  setCount(count: number): void {
    if (count > this.count) this.count = count;
  }

  /** The first seq of every page the range [fromSeq, toSeq] still needs, excluding requests already in flight. */
  missingPages(fromSeq: number, toSeq: number): number[] {
    const last = Math.min(toSeq, this.count);
    const out: number[] = [];
    if (last < 1 || fromSeq > last) return out;
    for (let p = this.pageOf(Math.max(1, fromSeq)); p <= this.pageOf(last); p++) {
      if (this.requested.has(p)) continue;
      const page = this.pages.get(p);
      const needUpTo = Math.min(last, this.pageStart(p + 1) - 1);
      if (!page || page.completeUpTo < needUpTo) out.push(p);
    }
    return out;
  }

  /** Records that a page was requested, so the next render does not request it again. */
  markRequested(page: number): void {
    this.requested.add(page);
  }

  requestFailed(page: number): void {
    this.requested.delete(page);
  }

  /** Marks the range as in use, so eviction keeps it. */
  touch(fromSeq: number, toSeq: number): void {
    const now = ++this.clock;
    for (let p = this.pageOf(Math.max(1, fromSeq)); p <= this.pageOf(Math.max(1, toSeq)); p++) {
      const page = this.pages.get(p);
      if (page) page.lastUsed = now;
    }
  }

  /**
   * Stores a fetched page. `knownLastSeq` is the log's last sequence when the server answered: every seq of the page up
   * to it is now known, so a missing one is a gap in the log, not something to fetch again.
   */
  putPage(page: number, lines: LogLine[], knownLastSeq: number): void {
    this.requested.delete(page);
    const start = this.pageStart(page);
    const end = start + this.pageSize - 1;
    const held = this.pageFor(page);
    for (const line of lines) {
      if (line.seq < start || line.seq > end) continue;
      held.lines[line.seq - start] = line;
      if (line.seq > this.lastReceived) this.lastReceived = line.seq;
    }
    const maxSeq = lines.length > 0 ? lines[lines.length - 1]!.seq : 0;
    held.completeUpTo = Math.max(held.completeUpTo, Math.min(end, Math.max(knownLastSeq, maxSeq)));
    this.setCount(Math.max(knownLastSeq, maxSeq));
    this.evict();
  }

  /**
   * Applies live lines in order, dropping any at or below the last one received. Returns the lines accepted.
   */
  append(lines: LogLine[]): LogLine[] {
    const accepted: LogLine[] = [];
    for (const line of lines) {
      if (line.seq <= this.lastReceived) continue;
      this.lastReceived = line.seq;
      this.setCount(line.seq);
      accepted.push(line);
      const held = this.pageFor(this.pageOf(line.seq));
      held.lines[(line.seq - 1) % this.pageSize] = line;
      // Only a line right after what is known extends it; after a hole the page is fetched to fill the hole.
      if (held.completeUpTo === line.seq - 1) held.completeUpTo = line.seq;
    }
    this.evict();
    return accepted;
  }

  clear(): void {
    this.pages.clear();
    this.requested.clear();
    this.count = 0;
    this.lastReceived = 0;
  }

  private pageFor(page: number): Page {
    let held = this.pages.get(page);
    if (!held) {
      held = { lines: [], completeUpTo: this.pageStart(page) - 1, lastUsed: ++this.clock };
      this.pages.set(page, held);
    }
    return held;
  }

  private evict(): void {
    if (this.pages.size <= this.maxPages) return;
    const tail = this.pageOf(Math.max(1, this.count));
    const byAge = [...this.pages.entries()].filter(([p]) => p !== tail).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [p] of byAge) {
      if (this.pages.size <= this.maxPages) break;
      this.pages.delete(p);
    }
  }
}
