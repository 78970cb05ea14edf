/**
 * VariablesService: the `variables` table the helpers read and write (getVariable / setVariable), scoped 'global' or
 * 'event:<id>' (an event's own value wins over a global one of the same key). A secret variable keeps its value in the
 * keychain (the row holds only the reference) and stays secret when a script sets it again. Names that change how a
 * shell or interpreter starts are refused (src-shared/contract/variable-names.ts); a job's setVariable writes its
 * event's scope unless it asks for 'global'; each row records the job that last set it. It never logs a value.
 */
import type { AppDatabase } from '../db/database';
import { nowIso } from '../db/ids';
import type { Clock } from '../clock';
import { AppError } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { variableSecretRef } from '../secrets/secret-refs';
import { VariablesStore } from './variables-store';
import { MIN_SECRET_LENGTH, refusedVariableNameReason, SECRET_TOO_SHORT_MESSAGE } from '../../../src-shared/contract/variable-names';

export type VariableScope = 'global' | 'event';

export interface VariablesServiceDeps {
  db: AppDatabase;
  secrets: SecretStore;
  clock: Clock;
}

/** Who sets a variable: a job (its event and id), or a person (jobId null). */
export interface SetVariableContext {
  /** Omitted: the job's event scope. 'global' must be asked for. */
  scope?: VariableScope;
  eventId: string | null;
  jobId: string | null;
  /** Create it as a secret (value in the keychain). A variable that is secret already stays secret either way. */
  secret?: boolean;
}

/** A variable as the Variables view lists it (a secret one without its value). */
export interface VariableListing {
  id: string;
  scope: string;
  key: string;
  value: string | null;
  secret: boolean;
  updatedAt: string;
  setByJobId: string | null;
}

const MAX_KEY = 256;

export class VariablesService {
  private readonly store: VariablesStore;

  constructor(private readonly deps: VariablesServiceDeps) {
    this.store = new VariablesStore(deps.db);
  }

  /** The value visible to a job of `eventId`: its event-scoped one, else the global one, else null. */
  async get(key: string, ctx: { eventId: string | null }): Promise<string | null> {
    return (await this.read(key, ctx))?.value ?? null;
  }

  /** As get, and whether the value is a secret (the caller masks it from then on). */
  async read(key: string, ctx: { eventId: string | null }): Promise<{ value: string | null; secret: boolean } | null> {
    checkKey(key);
    const scopes = ctx.eventId ? [`event:${ctx.eventId}`, 'global'] : ['global'];
    for (const scope of scopes) {
      const row = await this.store.find(scope, key);
      if (!row) continue;
      if (row.secret_ref) return { value: await this.deps.secrets.get(row.secret_ref), secret: true };
      return { value: row.value, secret: false };
    }
    return null;
  }

  /**
   * Every variable a job of `eventId` sees (its event-scoped values win over global ones of the same key), and the
   * values of the secret ones, read from the keychain, for masking. A secret missing from the keychain is left out.
   */
  async visibleTo(eventId: string | null): Promise<{ values: Record<string, string>; secretValues: string[]; secretKeys: string[] }> {
    const scopes = eventId ? ['global', `event:${eventId}`] : ['global'];
    const rows = await this.store.inScopes(scopes);
    // Global rows first, so an event's own value of the same key overwrites it below.
    rows.sort((a, b) => (a.scope === 'global' ? 0 : 1) - (b.scope === 'global' ? 0 : 1));
    const values: Record<string, string> = {};
    const secrets = new Map<string, string>();
    for (const r of rows) {
      if (r.secret_ref) {
        const v = await this.deps.secrets.get(r.secret_ref);
        if (v === null) continue;
        values[r.key] = v;
        secrets.set(r.key, v);
      } else if (r.value !== null) {
        values[r.key] = r.value;
        secrets.delete(r.key);
      }
    }
    return { values, secretValues: [...secrets.values()], secretKeys: [...secrets.keys()] };
  }

  /**
   * The variables handed to a job at its start (direct-ssh exports them): every plain one, and only the secret ones
   * its script names (see secretsUsedBy). `secretValues` is every visible secret value, for masking its log.
   */
  async forJob(event: { id: string | null; content: string }): Promise<{ values: Record<string, string>; secretValues: string[] }> {
    const { values, secretValues, secretKeys } = await this.visibleTo(event.id);
    const delivered = { ...values };
    for (const key of secretKeys) if (!event.content.includes(key)) delete delivered[key];
    return { values: delivered, secretValues };
  }

  /**
   * The secret variable values a job of this event uses: those whose name appears in its script (the names it can
   * read through getVariable). Only these travel to a runner at start; a secret read under a computed name is added
   * to the job's masking when the app answers the getVariable call.
   */
  async secretsUsedBy(event: { id: string | null; content: string }): Promise<string[]> {
    const { values, secretKeys } = await this.visibleTo(event.id);
    return secretKeys.filter((key) => event.content.includes(key)).map((key) => values[key]);
  }

  /**
   * Sets a value ('event' scope, the default, needs the job's event; 'global' must be asked for). A secret variable
   * is updated in the keychain. Concurrent first sets of one key end as one row (the table's unique key).
   * Returns whether the value is secret (the job's log masks it from then on).
   */
  async set(key: string, value: string, ctx: SetVariableContext): Promise<{ secret: boolean }> {
    checkKey(key);
    const refused = refusedVariableNameReason(key);
    if (refused) throw new AppError('VARIABLE_NAME_REFUSED', refused, { fields: { key: refused } });
    const requested = ctx.scope ?? 'event';
    if (requested === 'event' && !ctx.eventId) {
      throw new AppError('INVALID_INPUT', 'this job belongs to no event, so setVariable needs the scope "global" given explicitly');
    }
    const scope = requested === 'event' ? `event:${ctx.eventId}` : 'global';
    const at = nowIso(this.deps.clock.now());
    const existing = await this.store.find(scope, key);
    const secret = Boolean(existing?.secret_ref) || ctx.secret === true;
    if (secret && value.length < MIN_SECRET_LENGTH) throw new AppError('SECRET_TOO_SHORT', `${key}: ${SECRET_TOO_SHORT_MESSAGE}`, { fields: { value: SECRET_TOO_SHORT_MESSAGE } });
    if (secret) {
      const ref = existing?.secret_ref ?? variableSecretRef(scope, key);
      await this.deps.secrets.set(ref, value);
      await this.store.upsertSecret(scope, key, ref, at, ctx.jobId);
      return { secret: true };
    }
    // A row made secret meanwhile (a concurrent secret set) keeps its keychain value: the plain value is not written over it.
    await this.store.upsertPlain(scope, key, value, at, ctx.jobId);
    return { secret: false };
  }

  /** Every variable, for the Variables view: secret ones without their value. */
  async list(): Promise<VariableListing[]> {
    const rows = await this.store.all();
    return rows.map((r) => ({
      id: r.id, scope: r.scope, key: r.key, value: r.secret_ref ? null : r.value, secret: r.secret_ref !== null,
      updatedAt: r.updated_at, setByJobId: r.set_by_job_id ?? null,
    }));
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY || /\p{Cc}/u.test(key)) {
    throw new AppError('INVALID_INPUT', `a variable name needs 1 to ${MAX_KEY} characters without control characters`);
  }
}
