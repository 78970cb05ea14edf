/**
 * SettingsService: owns RunnerSettings, the streaming/listener/notification preferences and the four feature flags.
 * Stored sections live in `settings` (one JSON row per section), flags in `feature_flags`; the change list's
 * environment variables override stored values without replacing them. An update that fails validation saves nothing.
 * It never stores or returns a secret (HELPER_JWT_SECRET stays out of Settings).
 */
import type { z } from 'zod';
import {
  FeatureFlag,
  Settings,
  SettingsPatch,
  type SettingsView,
} from '../../../src-shared/contract/settings';
import type { AppDatabase } from '../db/database';
import { systemClock, type Clock } from '../clock';
import { nowIso } from '../db/ids';
import { AppError, zodFieldErrors } from '../errors';
import type { EventBus } from '../event-bus';
import { defaultSettings } from './defaults';
import { recordAuditSync } from '../audit-log';
import { SettingsStore } from './settings-store';
import { helperJwtSecretFromEnv, readEnvOverrides, type EnvOverride } from './env-overrides';

type SectionKey = Exclude<keyof Settings, 'flags'>;
const SECTIONS: readonly SectionKey[] = ['runner', 'logs', 'streaming', 'listener', 'notifications', 'rollout', 'updates'];

export class SettingsService {
  private stored: Settings;
  /** current()'s answer, made once per change (it is read per job and per event): frozen, so no caller can alter it. */
  private effective: FrozenSettings | null = null;
  private readonly overrides: EnvOverride[];
  private readonly store: SettingsStore;

  constructor(
    private readonly db: AppDatabase,
    private readonly env: Record<string, string | undefined>,
    private readonly bus: EventBus,
    private readonly clock: Clock = systemClock,
  ) {
    this.store = new SettingsStore(db);
    this.overrides = readEnvOverrides(env);
    this.stored = this.load();
  }

  /** Effective settings (environment applied) and which fields the environment pins, for the Settings pane. */
  view(): SettingsView {
    const overrides: Record<string, string> = {};
    for (const o of this.overrides) overrides[`${o.section}.${o.key}`] = o.variable;
    return { settings: this.current(), overrides };
  }

  /** The settings every service should honour: stored values with the environment's overrides applied (read-only). */
  current(): FrozenSettings {
    if (!this.effective) {
      const effective = structuredClone(this.stored);
      for (const o of this.overrides) {
        (effective[o.section] as Record<string, unknown>)[o.key] = o.value;
      }
      this.effective = deepFreeze(effective);
    }
    return this.effective;
  }

  flag(name: FeatureFlag): boolean {
    return this.current().flags[name] ?? defaultSettings().flags[name] ?? false;
  }

  /** HELPER_JWT_SECRET from the environment, for the listener's runner tokens; undefined when not set. */
  helperJwtSecretFromEnv(): string | undefined {
    return helperJwtSecretFromEnv(this.env);
  }

  /**
   * Merges the patch into the stored settings, validates the whole result, then saves it in one transaction.
   * A field pinned by the environment is still saved (it takes effect once the variable is unset).
   */
  update(patch: SettingsPatch): SettingsView {
    const parsedPatch = SettingsPatch.safeParse(patch);
    if (!parsedPatch.success) throw invalid(parsedPatch.error.issues);
    const merged = mergePatch(this.stored, parsedPatch.data);
    const parsed = Settings.safeParse(merged);
    if (!parsed.success) throw invalid(parsed.error.issues);
    const next = parsed.data;
    const thresholdFields = checkHealthThresholds(next);
    if (Object.keys(thresholdFields).length > 0) {
      throw new AppError('INVALID_SETTING', `Settings not saved: ${describeFields(thresholdFields)}`, { fields: thresholdFields });
    }

    const at = nowIso(this.clock.now());
    const sections = SECTIONS.filter((section) => parsedPatch.data[section] !== undefined).map((section): [string, string] => [section, JSON.stringify(next[section])]);
    const flags = Object.entries(parsedPatch.data.flags ?? {}).filter((e): e is [string, boolean] => e[1] !== undefined);
    this.store.save(sections, flags, at);
    const previous = this.stored;
    this.stored = next;
    this.effective = null;
    const changes = changedPaths(parsedPatch.data).filter((p) => JSON.stringify(valueAt(previous, p)) !== JSON.stringify(valueAt(next, p)));
    if (changes.length > 0) {
      recordAuditSync(this.db, { at: this.clock.now(), actor: 'user', action: 'settings.update', subject: changes[0]!.split('.')[0]!, detail: { changed: Object.fromEntries(changes.map((p) => [p, valueAt(next, p)])) } });
    }

    const view = this.view();
    this.bus.emit('settings/changed', view);
    return view;
  }

  private load(): Settings {
    const defaults = defaultSettings();
    const result: Settings = structuredClone(defaults);
    const rows = this.store.sections();
    for (const row of rows) {
      if (!(SECTIONS as readonly string[]).includes(row.key)) continue;
      const section = row.key as SectionKey;
      let stored: unknown;
      try {
        stored = JSON.parse(row.value);
      } catch {
        console.warn(`[settings] stored section "${section}" is not valid JSON; using the defaults for it.`);
        continue;
      }
      // Stored sections are merged onto the defaults so a field added by a newer app version gets its default.
      const candidate = { ...result, [section]: deepMerge(defaults[section], stored) };
      const check = (Settings.shape[section] as z.ZodType).safeParse(candidate[section]);
      if (!check.success) {
        console.warn(`[settings] stored section "${section}" is invalid (${check.error.issues[0]?.message}); using the defaults for it.`);
        continue;
      }
      (result as Record<SectionKey, unknown>)[section] = check.data;
    }
    const flagRows = this.store.flags();
    for (const row of flagRows) {
      const name = FeatureFlag.safeParse(row.name);
      if (name.success) result.flags[name.data] = row.enabled === 1;
    }
    return result;
  }
}

/** Dotted paths of the leaves a patch sets, e.g. ["notifications.onSuccess", "flags.ssh_runner_enabled"]. */
function changedPaths(patch: unknown, prefix = ''): string[] {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return prefix ? [prefix] : [];
  return Object.entries(patch).flatMap(([k, v]) => (v === undefined ? [] : changedPaths(v, prefix ? `${prefix}.${k}` : k)));
}

function valueAt(root: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined), root);
}

function invalid(issues: z.ZodError['issues']): AppError {
  const fields = zodFieldErrors(issues);
  return new AppError('INVALID_SETTING', `Settings not saved: ${describeFields(fields)}`, { fields });
}

function describeFields(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${v}`)
    .join('; ');
}

/** Degraded must be reached before unhealthy, or the health monitor could never report "degraded". */
function checkHealthThresholds(s: Settings): Record<string, string> {
  const h = s.runner.health;
  const fields: Record<string, string> = {};
  if (h.cpuDegradedPercent > h.cpuUnhealthyPercent) fields['runner.health.cpuDegradedPercent'] = 'must not be above cpuUnhealthyPercent';
  if (h.memoryDegradedPercent > h.memoryUnhealthyPercent) fields['runner.health.memoryDegradedPercent'] = 'must not be above memoryUnhealthyPercent';
  if (h.diskDegradedFreeMb < h.diskUnhealthyFreeMb) fields['runner.health.diskDegradedFreeMb'] = 'must not be below diskUnhealthyFreeMb';
  return fields;
}

function mergePatch(base: Settings, patch: SettingsPatch): unknown {
  return deepMerge(base, patch);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? structuredClone(base) : over;
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = deepMerge(base[k], v);
  }
  return out;
}

/** Settings as current() hands them out: frozen all the way down, and typed so (an assignment does not compile). */
export type FrozenSettings = DeepReadonly<Settings>;
type DeepReadonly<T> = T extends (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}
