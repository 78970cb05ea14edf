/**
 * LineSplitter: turns raw output chunks of one stream into complete text lines. It owns joining a line (or a UTF-8
 * character) split across chunks, replacing invalid UTF-8 with U+FFFD, and cutting a line longer than a bound.
 * It never throws on bad input and never holds more than about one bound of text.
 */
import { StringDecoder } from 'node:string_decoder';

/** A line longer than this (in UTF-16 code units) is cut into pieces of this size. */
export const MAX_LINE_CHARS = 64 * 1024;

export interface LineSplitterOptions {
  maxLineChars?: number;
  /**
   * Where an over-long line may be cut, given the text and the wanted cut index (e.g. not inside a secret so the
   * masker still sees it whole). Must return an index in 1..text.length. The splitter keeps `cutLookahead` characters
   * past the bound before cutting so the chooser sees what follows.
   */
  chooseCut?: (text: string, at: number) => number;
  cutLookahead?: number;
}

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private readonly maxLine: number;
  private readonly lookahead: number;

  constructor(private readonly options: LineSplitterOptions = {}) {
    this.maxLine = options.maxLineChars ?? MAX_LINE_CHARS;
    this.lookahead = Math.max(0, options.cutLookahead ?? 0);
  }

  /** Complete lines found after adding `chunk` (without their line ending). */
  push(chunk: Buffer): string[] {
    return this.take(this.decoder.write(chunk), false);
  }

  /** The rest: a last line without a newline, and any incomplete UTF-8 sequence as U+FFFD. */
  end(): string[] {
    return this.take(this.decoder.end(), true);
  }

  private take(text: string, final: boolean): string[] {
    const lines: string[] = [];
    let data = this.pending.length === 0 ? text : this.pending + text;
    let start = 0;
    for (;;) {
      const nl = data.indexOf('\n', start);
      if (nl === -1) break;
      this.cutLong(data.slice(start, nl), lines, true);
      start = nl + 1;
    }
    data = start === 0 ? data : data.slice(start);
    this.pending = '';
    if (final) {
      if (data.length > 0) this.cutLong(data, lines, true);
    } else {
      this.pending = this.cutLong(data, lines, false);
    }
    return lines;
  }

  /** Emits `line` in pieces no longer than the bound; when not `complete`, returns the unfinished remainder. */
  private cutLong(line: string, out: string[], complete: boolean): string {
    let rest = line;
    while (rest.length > this.maxLine && (complete || rest.length >= this.maxLine + this.lookahead)) {
      let cut = this.options.chooseCut ? this.options.chooseCut(rest, this.maxLine) : this.maxLine;
      if (!(cut >= 1 && cut <= rest.length)) cut = this.maxLine;
      // Never cut between the two halves of a surrogate pair.
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff && cut < rest.length) cut = cut > 1 ? cut - 1 : cut + 1;
      out.push(stripCr(rest.slice(0, cut)));
      rest = rest.slice(cut);
    }
    if (complete) {
      if (rest.length > 0 || line.length === 0) out.push(stripCr(rest));
      return '';
    }
    return rest;
  }
}

function stripCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}
