/**
 * SecretMasker: the one place that hides secret values in job output, used by the runner (before a line is spooled on
 * the server) and by the app (before a line, an output, a failure reason or a notification is stored or shown). It
 * works on complete lines or on pieces the LineSplitter cut outside any secret, so a secret split across chunks is
 * whole again before it is looked for. A multi-line secret is masked line by line. Pure TypeScript (both bundles use
 * it); it never logs or returns a secret.
 *
 * Besides the value itself it masks the forms a script commonly prints it in (see encodedForms): JSON-escaped (as
 * JavaScript and Python write it), URL-encoded (encodeURIComponent, Python quote and quote_plus) and base64 (standard
 * and URL-safe, at each of the three byte alignments a value can have inside a longer base64 text). For base64 only
 * the characters that depend on the secret alone are masked, so at an unaligned offset up to two characters at each end
 * stay visible (they carry at most 4 bits of the secret each); values whose stable base64 core would be shorter than
 * MIN_BASE64_CORE characters are not looked for in base64. Other encodings (hex, double encoding, compression,
 * splitting across lines) are not recognised.
 */

export const MASK = '••••••';
/** Secrets shorter than this are refused at entry; any that still arrive are not masked (they would garble every line). */
export const MIN_MASKED_LENGTH = 3;
/** Lines of a multi-line secret shorter than this (e.g. "}" or "-----") are too common to mask on their own. */
export const MIN_MULTILINE_PART = 4;
/** Shorter base64 cores are too likely to appear in ordinary base64 text by chance. */
export const MIN_BASE64_CORE = 6;

export class SecretMasker {
  /** Needles, longest first, so a secret that contains another is masked whole. */
  private needles: string[] = [];
  private readonly set = new Set<string>();

  constructor(secrets: Iterable<string>) {
    for (const value of secrets) this.collect(value);
    this.sortNeedles();
  }

  /** Length of the longest needle (0 when there is nothing to mask). */
  get maxLength(): number {
    return this.needles.length ? this.needles[0].length : 0;
  }

  get isEmpty(): boolean {
    return this.needles.length === 0;
  }

  /** Masks `value` (and its encoded forms) from now on: a secret the job learned of while it ran. */
  add(value: string): void {
    const before = this.set.size;
    this.collect(value);
    if (this.set.size !== before) this.sortNeedles();
  }

  /** Whether any needle occurs in `text` (else mask() leaves every part of it as it is). */
  occursIn(text: string): boolean {
    for (const needle of this.needles) if (text.includes(needle)) return true;
    return false;
  }

  mask(line: string): string {
    let out = line;
    for (const needle of this.needles) {
      if (out.includes(needle)) out = out.split(needle).join(MASK);
    }
    return out;
  }

  /**
   * For the splitter: a cut index at or before `at` that does not fall inside an occurrence of a secret (so both
   * halves can be masked on their own). Falls back to just after the occurrence when it starts at the beginning.
   */
  chooseCut = (text: string, at: number): number => {
    let cut = at;
    for (let guard = 0; guard < 8; guard++) {
      let moved = false;
      for (const needle of this.needles) {
        const from = Math.max(0, cut - needle.length + 1);
        let idx = text.indexOf(needle, from);
        while (idx !== -1 && idx < cut) {
          if (idx + needle.length > cut) {
            cut = idx > 0 ? idx : idx + needle.length;
            moved = true;
            break;
          }
          idx = text.indexOf(needle, idx + 1);
        }
      }
      if (!moved) break;
    }
    return cut;
  };

  private collect(value: unknown): void {
    if (typeof value !== 'string' || value.length < MIN_MASKED_LENGTH) return;
    const normalised = value.replace(/\r\n/g, '\n');
    // Encoded forms keep a multi-line secret on one line, so they are looked for whole.
    for (const form of encodedForms(normalised)) this.set.add(form);
    if (!normalised.includes('\n')) {
      this.set.add(normalised);
      return;
    }
    // Output is stored line by line, so a multi-line secret printed as it is can only appear as its separate lines.
    for (const part of normalised.split('\n')) {
      if (part.trim().length >= MIN_MULTILINE_PART) this.set.add(part.replace(/\r$/, ''));
    }
  }

  private sortNeedles(): void {
    this.needles = [...this.set].sort((a, b) => b.length - a.length);
  }
}

/** The encoded forms of `value` that are masked besides the value itself (those equal to it are left out). */
export function encodedForms(value: string): string[] {
  const forms = new Set<string>();
  const json = JSON.stringify(value).slice(1, -1);
  forms.add(json);
  // Python's json.dumps (ensure_ascii) escapes every non-ASCII character; some encoders also escape "/".
  forms.add(json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  forms.add(json.replace(/\//g, '\\/'));
  const component = encodeURIComponent(value);
  forms.add(component);
  forms.add(component.replace(/%20/g, '+')); // form encoding (Python quote_plus)
  forms.add(component.replace(/%2F/g, '/')); // Python quote (keeps "/")
  forms.add(component.replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
  for (const core of base64Cores(Buffer.from(value, 'utf8'))) forms.add(core);
  forms.delete(value);
  return [...forms].filter((f) => f.length >= MIN_MASKED_LENGTH);
}

/**
 * The base64 characters that depend on `bytes` alone, for each of the three offsets (mod 3) at which `bytes` can start
 * inside a longer encoded text, in the standard and the URL-safe alphabet.
 */
export function base64Cores(bytes: Uint8Array): string[] {
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = new Uint8Array(offset + bytes.length + 2);
    padded.set(bytes, offset);
    const text = Buffer.from(padded).toString('base64');
    const startBit = offset * 8;
    const endBit = (offset + bytes.length) * 8;
    const first = Math.ceil(startBit / 6);
    const last = Math.floor(endBit / 6); // exclusive: char i covers bits [6i, 6i + 6)
    if (last - first < MIN_BASE64_CORE) continue;
    const core = text.slice(first, last);
    cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...new Set(cores)];
}
