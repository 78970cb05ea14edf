/**
 * LineSplitter: turns raw output chunks of one stream into complete text lines, for the runner (before spooling) and
 * the app (direct SSH). It owns joining a line (or a UTF-8 character) split across chunks, replacing invalid UTF-8
 * with U+FFFD, masking secrets BEFORE a line is cut, and cutting a line longer than a bound. Pure TypeScript (both
 * bundles use it); it never throws on bad input, never holds more than about one bound, never emits a secret it knows.
 */
import type { SecretMasker } from './secret-masker';

/** A line longer than this (in UTF-16 code units) is cut into pieces of this size (the app's default bound). */
export const MAX_LINE_CHARS = 64 * 1024;

export interface LineSplitterOptions {
  maxLineChars?: number;
  /**
   * Secrets to hide. A complete line is masked whole and then cut, so no cut can split a secret; a line still growing
   * past the bound is cut only outside a secret (seen with the masker's longest secret of look-ahead) and each piece
   * is masked before it leaves.
   */
  masker?: SecretMasker;
}

export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private pending = '';
  private readonly maxLine: number;
  private readonly masker: SecretMasker | null;

  constructor(options: LineSplitterOptions = {}) {
    this.maxLine = options.maxLineChars ?? MAX_LINE_CHARS;
    // Kept even when empty: a secret the job learns of later (SecretMasker.add) is masked from then on.
    this.masker = options.masker ?? null;
  }

  private get lookahead(): number {
    return this.masker?.maxLength ?? 0;
  }

  /** Complete lines found after adding `chunk` (without their line ending), secrets masked. */
  push(chunk: Uint8Array): string[] {
    return this.take(this.decoder.decode(chunk, { stream: true }), false);
  }

  /** The rest: a last line without a newline, and any incomplete UTF-8 sequence as U+FFFD. */
  end(): string[] {
    return this.take(this.decoder.decode(), true);
  }

  private take(text: string, final: boolean): string[] {
    const lines: string[] = [];
    let data = this.pending.length === 0 ? text : this.pending + text;
    // Every line and piece below is a part of `data`: when no secret occurs in it, none needs masking (one look per
    // chunk instead of one per line and secret).
    const mask = this.masker !== null && !this.masker.isEmpty && this.masker.occursIn(data);
    let start = 0;
    for (;;) {
      const nl = data.indexOf('\n', start);
      if (nl === -1) break;
      this.emit(stripCr(data.slice(start, nl)), lines, mask);
      start = nl + 1;
    }
    data = start === 0 ? data : data.slice(start);
    this.pending = '';
    if (final) {
      if (data.length > 0) this.emit(stripCr(data), lines, mask);
    } else {
      this.pending = this.cutGrowing(data, lines, mask);
    }
    return lines;
  }

  /** Cuts pieces off a line that has no end yet, never inside a secret; returns the unfinished remainder. */
  private cutGrowing(line: string, out: string[], mask: boolean): string {
    let rest = line;
    while (rest.length > this.maxLine && rest.length >= this.maxLine + this.lookahead) {
      let cut = mask ? this.masker!.chooseCut(rest, this.maxLine) : this.maxLine;
      if (!(cut >= 1 && cut <= rest.length)) cut = this.maxLine;
      cut = surrogateSafe(rest, cut);
      this.emit(rest.slice(0, cut), out, mask);
      rest = rest.slice(cut);
    }
    return rest;
  }

  /**
   * Masks a whole line (or a piece cut outside any secret) and then cuts it to the bound. `mask` false: the text it
   * came from holds no secret.
   */
  private emit(line: string, out: string[], mask: boolean): void {
    let rest = mask ? this.masker!.mask(line) : line;
    let pieces = 0;
    while (rest.length > this.maxLine) {
      const cut = surrogateSafe(rest, this.maxLine);
      out.push(rest.slice(0, cut));
      rest = rest.slice(cut);
      pieces++;
    }
    // An empty line is a line; an empty remainder after cutting is not.
    if (rest.length > 0 || pieces === 0) out.push(rest);
  }
}

/** Moves a cut off the middle of a surrogate pair. */
function surrogateSafe(text: string, cut: number): number {
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff && cut < text.length) return cut > 1 ? cut - 1 : cut + 1;
  return cut;
}

function stripCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}
