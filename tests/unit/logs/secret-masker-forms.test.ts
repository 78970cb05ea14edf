// SecretMasker's encoded forms: a secret printed JSON-escaped (JS and Python style), URL-encoded (component, form and
// path style) or base64 (standard and URL-safe, at every byte offset inside a longer base64 text) is masked; short
// secrets are not looked for; a secret added while a job runs is masked in the lines after it.
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src-shared/logs/line-splitter';
import { base64Cores, encodedForms, MASK, SecretMasker } from '../../../src-shared/logs/secret-masker';

const secret = 'p@ss "wörd"/+ 42';

describe('SecretMasker encoded forms', () => {
  const masker = new SecretMasker([secret]);

  it('masks the JSON-escaped form as JavaScript writes it', () => {
    const line = JSON.stringify({ password: secret });
    expect(line).not.toContain(secret);
    expect(masker.mask(line)).toBe(`{"password":"${MASK}"}`);
  });

  it('masks the JSON-escaped form as Python writes it (non-ASCII as \\u escapes)', () => {
    const python = JSON.stringify(secret).slice(1, -1).replace('ö', '\\u00f6');
    expect(masker.mask(`{"password": "${python}"}`)).toBe(`{"password": "${MASK}"}`);
  });

  it('masks URL-encoded forms (encodeURIComponent, form encoding, path style)', () => {
    expect(masker.mask(`https://h/?p=${encodeURIComponent(secret)}&x=1`)).toBe(`https://h/?p=${MASK}&x=1`);
    expect(masker.mask(`p=${encodeURIComponent(secret).replace(/%20/g, '+')}`)).toBe(`p=${MASK}`);
    expect(masker.mask(`/a/${encodeURIComponent(secret).replace(/%2F/g, '/')}`)).toBe(`/a/${MASK}`);
  });

  it('masks base64 of the secret alone, standard and URL-safe', () => {
    const b64 = Buffer.from(secret).toString('base64');
    const out = masker.mask(`token ${b64} end`);
    expect(out).toContain(MASK);
    expect(out).not.toContain(b64.slice(0, 12));
    const url = Buffer.from(secret).toString('base64url');
    expect(masker.mask(url)).toContain(MASK);
  });

  it('masks base64 of the secret inside a longer text at every byte offset, leaving at most 2 characters each side', () => {
    for (let pad = 0; pad < 6; pad++) {
      for (let tail = 0; tail < 4; tail++) {
        const whole = Buffer.concat([Buffer.from('x'.repeat(pad)), Buffer.from(secret), Buffer.from('y'.repeat(tail))]).toString('base64');
        const out = masker.mask(whole);
        expect(out, `pad ${pad} tail ${tail}`).toContain(MASK);
        // What is left of the encoded secret is at most the two partial characters at each end.
        const bytes = Buffer.byteLength(secret);
        expect(whole.length - out.length + MASK.length).toBeGreaterThanOrEqual(Math.floor((bytes * 4) / 3) - 2);
      }
    }
  });

  it('does not look for base64 cores shorter than 6 characters (too common by chance)', () => {
    expect(base64Cores(Buffer.from('abc'))).toEqual([]);
    expect(base64Cores(Buffer.from('abcdefgh')).length).toBeGreaterThan(0);
  });

  it('keeps the plain value and every form of it longest-first', () => {
    expect(encodedForms('plain-text')).not.toContain('plain-text');
    expect(masker.mask(`a ${secret} b`)).toBe(`a ${MASK} b`);
  });
});

describe('SecretMasker short secrets', () => {
  it('ignores values shorter than 3 characters, which would garble every line', () => {
    const m = new SecretMasker(['a', 'xy', '']);
    expect(m.isEmpty).toBe(true);
    expect(m.mask('a xy line')).toBe('a xy line');
  });

  it('masks a 3-character secret', () => {
    expect(new SecretMasker(['q7z']).mask('id=q7z;')).toBe(`id=${MASK};`);
  });
});

describe('SecretMasker.add', () => {
  it('masks a secret learned while the job runs in every later line, through the splitter', () => {
    const m = new SecretMasker([]);
    const splitter = new LineSplitter({ masker: m });
    expect(splitter.push(Buffer.from('late-secret-1 before\n'))).toEqual(['late-secret-1 before']);
    m.add('late-secret-1');
    expect(splitter.push(Buffer.from('after late-secret-1\n'))).toEqual([`after ${MASK}`]);
    expect(splitter.push(Buffer.from(`${Buffer.from('late-secret-1').toString('base64')}\n`))[0]).toContain(MASK);
  });
});
