/**
 * JobOutput: the script's two output streams on their way to the spool. It splits each stream into lines, masks every
 * secret the runner holds (before a line is cut and before it is written: the spool is a file on the server), numbers
 * the lines after the spool's last one and appends them to the spool. It never writes an unmasked secret to disk.
 */
import { LineSplitter } from '../../src-shared/logs/line-splitter';
import { SecretMasker } from '../../src-shared/logs/secret-masker';
import { MAX_LINE_CHARS, type WireLine } from '../../src-shared/protocol/runner-wire';
import type { Spool } from './spool';

type Stream = 'stdout' | 'stderr';

export class JobOutput {
  private readonly splitters: Record<Stream, LineSplitter>;

  /** `secrets`: the values of the script's secret environment and of the secret variables it can read. */
  constructor(
    private readonly spool: Spool,
    secrets: Iterable<string>,
  ) {
    const masker = new SecretMasker(secrets);
    this.splitters = {
      stdout: new LineSplitter({ maxLineChars: MAX_LINE_CHARS, masker }),
      stderr: new LineSplitter({ maxLineChars: MAX_LINE_CHARS, masker }),
    };
  }

  /** The lines a chunk completed, masked, numbered and already in the spool. */
  push(stream: Stream, chunk: Uint8Array): WireLine[] {
    return this.record(stream, this.splitters[stream].push(chunk));
  }

  /** The streams closed: their unterminated last lines, recorded the same way. */
  end(): WireLine[] {
    return [...this.record('stdout', this.splitters.stdout.end()), ...this.record('stderr', this.splitters.stderr.end())];
  }

  private record(stream: Stream, texts: string[]): WireLine[] {
    if (texts.length === 0) return [];
    const ts = new Date().toISOString();
    const first = this.spool.lastSeq + 1;
    const lines: WireLine[] = texts.map((text, i) => ({ seq: first + i, stream, ts, text }));
    this.spool.append(lines);
    return lines;
  }
}
