/**
 * Runner and Node version arithmetic: parsing "1.2.3" / "1.2.3-beta.1" / "v20.11.0", ordering them, and the
 * "at least" checks artifact selection and runner requirements use. Pure functions; it never guesses: a string that
 * is not a version is refused with RUNNER_VERSION_INVALID rather than compared as text.
 */
import { RUNNER_MIN_NODE_MAJOR } from '../../../src-shared/protocol/runner-info';
import { AppError } from '../errors';

export interface ParsedVersion {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated pre-release identifiers ('beta.1' -> ['beta', '1']); empty for a release. */
  prerelease: string[];
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(text: string): ParsedVersion {
  const m = VERSION.exec(text.trim());
  if (!m) {
    throw new AppError('RUNNER_VERSION_INVALID', `"${text}" is not a version: use the form 1.2.3 (optionally 1.2.3-beta.1).`);
  }
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ? m[4].split('.') : [] };
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an !== bn) return an ? -1 : 1; // numeric identifiers sort before alphanumeric ones (semver 11.4.3)
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semver precedence: negative when a < b, 0 when equal (build metadata ignored), positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (const key of ['major', 'minor', 'patch'] as const) {
    if (x[key] !== y[key]) return Math.sign(x[key] - y[key]);
  }
  // A pre-release sorts before its release: 1.0.0-rc.1 < 1.0.0.
  if (x.prerelease.length === 0 || y.prerelease.length === 0) {
    return x.prerelease.length === y.prerelease.length ? 0 : x.prerelease.length === 0 ? 1 : -1;
  }
  const n = Math.min(x.prerelease.length, y.prerelease.length);
  for (let i = 0; i < n; i++) {
    const c = compareIdentifiers(x.prerelease[i], y.prerelease[i]);
    if (c !== 0) return c;
  }
  return Math.sign(x.prerelease.length - y.prerelease.length);
}

export function isAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

/** The major version of a Node version string as `node --version` prints it ("v20.11.1" -> 20); null when unreadable. */
export function nodeMajor(nodeVersion: string | null | undefined): number | null {
  if (!nodeVersion) return null;
  const m = /^v?(\d+)(?:\.\d+){0,2}/.exec(nodeVersion.trim());
  return m ? Number(m[1]) : null;
}

/** Whether `node -v` names a Node the js runner runs under (>= RUNNER_MIN_NODE_MAJOR). */
export function hasUsableNode(nodeVersion: string | null | undefined): boolean {
  const major = nodeMajor(nodeVersion);
  return major !== null && major >= RUNNER_MIN_NODE_MAJOR;
}
