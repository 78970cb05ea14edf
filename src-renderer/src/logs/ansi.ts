/**
 * ANSI escape sequences -> styled text segments for the log viewer. Segments carry plain text (React escapes it when
 * rendered) and either a theme class for the 16 basic colours or an rgb() value; never HTML. Search highlighting
 * splits segments here too, so the viewer never builds markup from strings.
 */
import Anser from 'anser';

export interface AnsiSegment {
  text: string;
  /** A class like 'ansi-red' (themed in CSS) or an inline colour like 'rgb(1, 2, 3)'. */
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  /** True for the part of the text that matches the viewer's search. */
  match?: boolean;
}

const BASIC = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

/** The xterm 256-colour palette entry for index 16..255 (0..15 are themed classes). */
export function paletteColour(index: number): string {
  if (index < 16) return index < 8 ? `ansi-${BASIC[index]}` : `ansi-bright-${BASIC[index - 8]}`;
  if (index >= 232) {
    const v = 8 + (index - 232) * 10;
    return `rgb(${v}, ${v}, ${v})`;
  }
  const n = index - 16;
  const level = (c: number) => (c === 0 ? 0 : 55 + c * 40);
  return `rgb(${level(Math.floor(n / 36))}, ${level(Math.floor(n / 6) % 6)}, ${level(n % 6)})`;
}

function colourOf(cls: string | null, rgb: string | null): string | null {
  if (!cls) return null;
  if (cls === 'ansi-truecolor') return rgb ? `rgb(${rgb})` : null;
  const palette = /^ansi-palette-(\d+)$/.exec(cls);
  if (palette) return paletteColour(Number(palette[1]));
  return cls;
}

/** Whether a colour from a segment is a CSS class (true) or an inline rgb() value (false). */
export const isColourClass = (colour: string): boolean => colour.startsWith('ansi-');

/** Strips escape sequences, for copy, search and download of plain text. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.includes('\u001b') ? text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g, '') : text;
}

const plain = (text: string): AnsiSegment => ({ text, fg: null, bg: null, bold: false, dim: false, italic: false, underline: false });

export function ansiToSegments(text: string): AnsiSegment[] {
  if (!text.includes('\u001b')) return text === '' ? [] : [plain(text)];
  const withClasses = Anser.ansiToJson(text, { json: true, remove_empty: true, use_classes: true });
  // Truecolour has no class: read those segments' rgb values from a second pass (same input, same segmentation).
  const needsRgb = withClasses.some((s) => s.fg === 'ansi-truecolor' || s.bg === 'ansi-truecolor');
  const withRgb = needsRgb ? Anser.ansiToJson(text, { json: true, remove_empty: true, use_classes: false }) : [];
  return withClasses.map((s, i) => {
    const decorations = new Set<string>(s.decorations ?? []);
    const rgb = withRgb[i];
    let fg = colourOf(s.fg, rgb?.fg ?? null);
    let bg = colourOf(s.bg, rgb?.bg ?? null);
    if (decorations.has('reverse')) [fg, bg] = [bg ?? 'ansi-default-bg', fg ?? 'ansi-default-fg'];
    return {
      text: decorations.has('hidden') ? ' '.repeat(s.content.length) : s.content,
      fg,
      bg,
      bold: decorations.has('bold'),
      dim: decorations.has('dim'),
      italic: decorations.has('italic'),
      underline: decorations.has('underline'),
    };
  });
}

/** Splits segments so every case-insensitive occurrence of `query` is its own segment flagged `match`. */
export function highlightSegments(segments: AnsiSegment[], query: string): AnsiSegment[] {
  if (!query) return segments;
  const needle = query.toLowerCase();
  const full = segments.map((s) => s.text).join('');
  const lower = full.toLowerCase();
  const ranges: Array<[number, number]> = [];
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, at + needle.length)) {
    ranges.push([at, at + needle.length]);
  }
  if (ranges.length === 0) return segments;
  const out: AnsiSegment[] = [];
  let offset = 0;
  for (const seg of segments) {
    const start = offset;
    const end = offset + seg.text.length;
    offset = end;
    let cursor = start;
    for (const [a, b] of ranges) {
      if (b <= cursor || a >= end) continue;
      const from = Math.max(a, cursor);
      const to = Math.min(b, end);
      if (from > cursor) out.push({ ...seg, text: full.slice(cursor, from) });
      out.push({ ...seg, text: full.slice(from, to), match: true });
      cursor = to;
    }
    if (cursor < end) out.push({ ...seg, text: full.slice(cursor, end) });
  }
  return out;
}
