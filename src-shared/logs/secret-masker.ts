/**
 * SecretMasker: the one place that hides injected secret values in job output, used by the runner (before a line is
 * spooled on the server) and by the app (before a line is stored). It works on complete lines or on pieces the
 * LineSplitter cut outside any secret, so a secret split across chunks is whole again before it is looked for. A
 * multi-line secret is masked line by line. Pure TypeScript (both bundles use it); it never logs or returns a secret.
 */

export const MASK = '••••••';
/** Lines of a multi-line secret shorter than this (e.g. "}" or "-----") are too common to mask on their own. */
export const MIN_MULTILINE_PART = 4;

export class SecretMasker {
  /** Needles, longest first, so a secret that contains another is masked whole. */
  private readonly needles: string[];
  /** Length of the longest needle (0 when there is nothing to mask). */
  readonly maxLength: number;

  constructor(secrets: Iterable<string>) {
    const set = new Set<string>();
    for (const value of secrets) {
      if (typeof value !== 'string' || value === '') continue;
      const normalised = value.replace(/\r\n/g, '\n');
      if (!normalised.includes('\n')) {
        set.add(normalised);
        continue;
      }
      // Output is stored line by line, so a multi-line secret can only ever appear as its separate lines.
      for (const part of normalised.split('\n')) {
        if (part.trim().length >= MIN_MULTILINE_PART) set.add(part.replace(/\r$/, ''));
      }
    }
    this.needles = [...set].sort((a, b) => b.length - a.length);
    this.maxLength = this.needles.length ? this.needles[0].length : 0;
  }

  get isEmpty(): boolean {
    return this.needles.length === 0;
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
}
