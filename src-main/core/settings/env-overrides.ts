/**
 * The change list's environment variables as overrides of stored settings: which variable pins which setting,
 * how its text is parsed, and the one secret (HELPER_JWT_SECRET) that is read here but never becomes a setting.
 * An invalid value is ignored with a warning; it must never stop the app from starting.
 */
import type { z } from 'zod';
import { RunnerSettings, Settings } from '../../../src-shared/contract/settings';

type Section = 'runner' | 'streaming' | 'listener';

interface EnvOverrideSpec {
  variable: string;
  section: Section;
  key: string;
  kind: 'int' | 'string';
  schema: z.ZodType;
}

export const ENV_OVERRIDES: readonly EnvOverrideSpec[] = [
  { variable: 'RUNNER_ARTIFACT_PATH', section: 'runner', key: 'artifactCachePath', kind: 'string', schema: RunnerSettings.shape.artifactCachePath },
  { variable: 'RUNNER_CACHE_TTL_DAYS', section: 'runner', key: 'cacheTtlDays', kind: 'int', schema: RunnerSettings.shape.cacheTtlDays },
  { variable: 'RUNNER_DEFAULT_VERSION', section: 'runner', key: 'defaultVersion', kind: 'string', schema: RunnerSettings.shape.defaultVersion },
  { variable: 'RUNNER_HEALTH_CHECK_INTERVAL', section: 'runner', key: 'healthCheckInterval', kind: 'int', schema: RunnerSettings.shape.healthCheckInterval },
  { variable: 'HELPER_API_PORT', section: 'listener', key: 'port', kind: 'int', schema: Settings.shape.listener.shape.port },
  { variable: 'HELPER_DOWNLOAD_TIMEOUT', section: 'runner', key: 'downloadTimeout', kind: 'int', schema: RunnerSettings.shape.downloadTimeout },
  { variable: 'LOG_STREAM_BUFFER_SIZE', section: 'streaming', key: 'bufferSize', kind: 'int', schema: Settings.shape.streaming.shape.bufferSize },
  { variable: 'LOG_STREAM_TIMEOUT', section: 'streaming', key: 'timeoutSeconds', kind: 'int', schema: Settings.shape.streaming.shape.timeoutSeconds },
];

export interface EnvOverride {
  variable: string;
  section: Section;
  key: string;
  value: unknown;
}

/** The valid overrides found in env; each invalid one is reported through warn and left out. */
export function readEnvOverrides(
  env: Record<string, string | undefined>,
  warn: (message: string) => void = (m) => console.warn(`[settings] ${m}`),
): EnvOverride[] {
  const found: EnvOverride[] = [];
  for (const spec of ENV_OVERRIDES) {
    const raw = env[spec.variable];
    if (raw === undefined || raw.trim() === '') continue;
    const text = raw.trim();
    let value: unknown = text;
    if (spec.kind === 'int') {
      // Number('') and Number('1e3') would be accepted; a setting written by hand should be plain digits.
      if (!/^\d+$/.test(text)) {
        warn(`ignoring ${spec.variable}=${JSON.stringify(raw)}: must be a whole number; using the stored ${spec.section}.${spec.key}.`);
        continue;
      }
      value = Number(text);
    }
    const parsed = spec.schema.safeParse(value);
    if (!parsed.success) {
      warn(`ignoring ${spec.variable}=${JSON.stringify(raw)}: ${parsed.error.issues[0]?.message ?? 'invalid'}; using the stored ${spec.section}.${spec.key}.`);
      continue;
    }
    found.push({ variable: spec.variable, section: spec.section, key: spec.key, value: parsed.data });
  }
  return found;
}

/** HELPER_JWT_SECRET, if set: a secret for the listener's runner tokens. Never stored, logged or shown. */
export function helperJwtSecretFromEnv(env: Record<string, string | undefined>): string | undefined {
  const value = env.HELPER_JWT_SECRET;
  return value === undefined || value === '' ? undefined : value;
}
