/**
 * LogSinkImpl: the LogSink an executor writes one attempt's output to. It splits raw chunks into lines per stream
 * (the splitter masks every injected secret on whole lines, so a secret cut across chunks is caught), numbers the lines
 * and hands them to the LogStore. For the runner path it accepts already-numbered lines (masked by the runner already,
 * masked here again in case a secret reached the app only), dropping duplicates and reporting gaps.
 * It is the only writer of its log's lines; it never stores a line unmasked.
 */
import type { LogSink } from '../jobs/executor';
import type { LogLine, LogStatus, LogStream } from '../../../src-shared/contract/logs';
import { systemClock } from '../clock';
import { nowIso } from '../db/ids';
import { LineSplitter } from '../../../src-shared/logs/line-splitter';
import { SecretMasker } from '../../../src-shared/logs/secret-masker';
import type { LogStore } from './log-store';

export class LogSinkImpl implements LogSink {
  private readonly masker: SecretMasker;
  private readonly splitters: Record<'stdout' | 'stderr', LineSplitter>;
  private seq: number;
  private pending: Promise<void> = Promise.resolve();
  private ended = false;

  constructor(
    readonly logId: string,
    private readonly store: LogStore,
    secrets: Iterable<string>,
    private readonly now: () => number = systemClock.now,
  ) {
    this.masker = new SecretMasker(secrets);
    this.splitters = { stdout: new LineSplitter({ masker: this.masker }), stderr: new LineSplitter({ masker: this.masker }) };
    this.seq = store.lastSequence(logId);
  }

  addSecret(value: string): void {
    this.masker.add(value);
  }

  mask(text: string): string {
    return this.masker.isEmpty ? text : this.masker.mask(text);
  }

  /** Sequence number of the last line written (0 before any). */
  get lastSequence(): number {
    return this.seq;
  }

  writeChunk(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (this.ended) return;
    const lines = this.splitters[stream].push(chunk);
    if (lines.length > 0) this.store_(stream, lines, nowIso(this.now()), true);
  }

  /**
   * Takes numbered lines (kept by the store as they are: the caller must not change them afterwards), as one batch:
   * the caller's array itself when every line is taken unchanged (the runner path's usual case).
   */
  appendSequenced(lines: Array<{ seq: number; stream: LogStream; ts: string; text: string }>): { accepted: number; duplicates: number; gapAfter: number | null } {
    let duplicates = 0;
    let gapAfter: number | null = null;
    /** Made once a line is dropped or masked: the lines to store; until then, lines[0, i) are taken as they are. */
    let taken: LogLine[] | null = null;
    const masking = !this.masker.isEmpty;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.seq <= this.seq) {
        duplicates++;
        taken ??= lines.slice(0, i);
        continue;
      }
      if (line.seq !== this.seq + 1 && gapAfter === null) gapAfter = this.seq;
      this.seq = line.seq;
      const text = masking ? this.masker.mask(line.text) : line.text;
      if (text !== line.text) {
        taken ??= lines.slice(0, i);
        taken.push({ seq: line.seq, stream: line.stream, ts: line.ts, text });
      } else if (taken) taken.push(line);
    }
    const batch = taken ?? lines;
    this.store.appendBatch(this.logId, batch);
    return { accepted: batch.length, duplicates, gapAfter };
  }

  system(text: string): void {
    const at = nowIso(this.now());
    const lines = text.split('\n');
    this.store_('system', lines, at);
  }

  setStatus(status: LogStatus, extra?: { runnerVersion?: string; streamStartedAt?: string; runnerMetadata?: Record<string, unknown> }): void {
    this.pending = this.pending.then(() => this.store.setStatus(this.logId, status, extra ?? {})).catch((err) => {
      console.error(`[log-sink] log ${this.logId}: status ${status} refused:`, err);
    });
  }

  async flush(): Promise<void> {
    await this.pending;
    this.store.flushAll(this.logId);
  }

  /** The stream ended: a last line without a newline (and a trailing incomplete character) is written now. */
  end(): void {
    if (this.ended) return;
    const at = nowIso(this.now());
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.splitters[stream].end();
      if (rest.length > 0) this.store_(stream, rest, at, true);
    }
    this.ended = true;
  }

  /** `masked`: the lines come from a splitter, which masked them already. */
  private store_(stream: LogStream, lines: string[], ts: string, masked = false): void {
    const mask = !masked && !this.masker.isEmpty;
    const batch: LogLine[] = new Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i];
      batch[i] = { seq: ++this.seq, stream, ts, text: mask ? this.masker.mask(text) : text };
    }
    this.store.appendBatch(this.logId, batch);
  }
}
