/**
 * VariablesService: the `variables` table the helpers read and write (getVariable / setVariable), scoped 'global' or
 * 'event:<id>' (an event's own value wins over a global one of the same key). A secret variable keeps its value in the
 * keychain (the row holds only the reference) and stays secret when a script sets it again. It never logs a value.
 */
import type { AppDatabase } from '../db/database';
import { newId, nowIso } from '../db/ids';
import type { Clock } from '../clock';
import { AppError } from '../errors';
import type { SecretStore } from '../secrets/secret-store';

export type VariableScope = 'global' | 'event';

export interface VariablesServiceDeps {
  db: AppDatabase;
  secrets: SecretStore;
  clock: Clock;
}

const MAX_KEY = 256;

export class VariablesService {
  constructor(private readonly deps: VariablesServiceDeps) {}

  /** The value visible to a job of `eventId`: its event-scoped one, else the global one, else null. */
  async get(key: string, ctx: { eventId: string | null }): Promise<string | null> {
    checkKey(key);
    const scopes = ctx.eventId ? [`event:${ctx.eventId}`, 'global'] : ['global'];
    for (const scope of scopes) {
      const row = await this.deps.db.kysely.selectFrom('variables').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
      if (!row) continue;
      if (row.secret_ref) return this.deps.secrets.get(row.secret_ref);
      return row.value;
    }
    return null;
  }

  /**
   * Every variable a job of `eventId` sees (its event-scoped values win over global ones of the same key), and the
   * values of the secret ones, read from the keychain, for masking. A secret missing from the keychain is left out.
   */
  async visibleTo(eventId: string | null): Promise<{ values: Record<string, string>; secretValues: string[] }> {
    const scopes = eventId ? ['global', `event:${eventId}`] : ['global'];
    const rows = await this.deps.db.kysely.selectFrom('variables').selectAll().where('scope', 'in', scopes).execute();
    // Global rows first, so an event's own value of the same key overwrites it below.
    rows.sort((a, b) => (a.scope === 'global' ? 0 : 1) - (b.scope === 'global' ? 0 : 1));
    const values: Record<string, string> = {};
    const secretValues: string[] = [];
    for (const r of rows) {
      if (r.secret_ref) {
        const v = await this.deps.secrets.get(r.secret_ref);
        if (v === null) continue;
        values[r.key] = v;
        secretValues.push(v);
      } else if (r.value !== null) {
        values[r.key] = r.value;
      }
    }
    return { values, secretValues };
  }

  /** Sets a value in the given scope ('event' needs the job's event). A secret variable is updated in the keychain. */
  async set(key: string, value: string, ctx: { scope: VariableScope; eventId: string | null }): Promise<void> {
    checkKey(key);
    if (ctx.scope === 'event' && !ctx.eventId) throw new AppError('INVALID_INPUT', 'an event-scoped variable needs a job that belongs to an event');
    const scope = ctx.scope === 'event' ? `event:${ctx.eventId}` : 'global';
    const at = nowIso(this.deps.clock.now());
    const existing = await this.deps.db.kysely.selectFrom('variables').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
    if (existing?.secret_ref) {
      await this.deps.secrets.set(existing.secret_ref, value);
      await this.deps.db.kysely.updateTable('variables').set({ updated_at: at }).where('id', '=', existing.id).execute();
      return;
    }
    await this.deps.db.kysely
      .insertInto('variables')
      .values({ id: newId(), scope, key, value, secret_ref: null, updated_at: at })
      .onConflict((oc) => oc.columns(['scope', 'key']).doUpdateSet({ value, updated_at: at }))
      .execute();
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY || /\p{Cc}/u.test(key)) {
    throw new AppError('INVALID_INPUT', `a variable name needs 1 to ${MAX_KEY} characters without control characters`);
  }
}
