/**
 * Splits a process's output stream into lines: UTF-8 decoded across chunk boundaries, '\n' (and '\r\n') ends a line,
 * and a line longer than MAX_LINE_CHARS is cut into pieces so no wire message outgrows its bound. It never drops or
 * reorders text; end() returns the unterminated rest.
 */
import { StringDecoder } from 'node:string_decoder';
import { MAX_LINE_CHARS } from '../../src-shared/protocol/runner-wire';

export class RunnerLineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';

  push(chunk: Buffer): string[] {
    const text = this.rest + this.decoder.write(chunk);
    const parts = text.split('\n');
    this.rest = parts.pop() ?? '';
    const out: string[] = [];
    for (const p of parts) cut(p.endsWith('\r') ? p.slice(0, -1) : p, out);
    if (this.rest.length > MAX_LINE_CHARS) {
      const whole = this.rest;
      this.rest = '';
      cut(whole, out);
      // The last piece may still grow: keep it open.
      this.rest = out.pop() ?? '';
    }
    return out;
  }

  end(): string[] {
    const text = this.rest + this.decoder.end();
    this.rest = '';
    if (text === '') return [];
    const out: string[] = [];
    cut(text, out);
    return out;
  }
}

function cut(line: string, out: string[]): void {
  if (line.length <= MAX_LINE_CHARS) {
    out.push(line);
    return;
  }
  for (let i = 0; i < line.length; i += MAX_LINE_CHARS) out.push(line.slice(i, i + MAX_LINE_CHARS));
}
