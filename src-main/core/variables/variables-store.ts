/**
 * VariablesStore: the one holder of the `variables` table's SQL. It reads rows by scope and key, writes a plain or a
 * secret-reference row with get-or-create semantics (the table's unique (scope, key): concurrent first sets end as one
 * row), and lists rows. It decides nothing: names, scopes and secrets are the VariablesService's rules.
 */
import type { AppDatabase } from '../db/database';
import { newId } from '../db/ids';
import type { Row } from '../db/schema';

export type VariableRow = Row<'variables'>;

export class VariablesStore {
  constructor(private readonly db: AppDatabase) {}

  find(scope: string, key: string): Promise<VariableRow | undefined> {
    return this.db.kysely.selectFrom('variables').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
  }

  inScopes(scopes: string[]): Promise<VariableRow[]> {
    return this.db.kysely.selectFrom('variables').selectAll().where('scope', 'in', scopes).execute();
  }

  /** Every row, ordered by scope then key. */
  all(): Promise<VariableRow[]> {
    return this.db.kysely.selectFrom('variables').selectAll().orderBy('scope').orderBy('key').execute();
  }

  /** Creates or updates the row as a secret: the value lives in the keychain under `secretRef`, the row holds none. */
  async upsertSecret(scope: string, key: string, secretRef: string, at: string, setByJobId: string | null): Promise<void> {
    await this.db.kysely
      .insertInto('variables')
      .values({ id: newId(), scope, key, value: null, secret_ref: secretRef, updated_at: at, set_by_job_id: setByJobId })
      .onConflict((oc) => oc.columns(['scope', 'key']).doUpdateSet({ value: null, secret_ref: secretRef, updated_at: at, set_by_job_id: setByJobId }))
      .execute();
  }

  /** Creates or updates the row with a plain value; a row made secret meanwhile keeps its keychain value. */
  async upsertPlain(scope: string, key: string, value: string, at: string, setByJobId: string | null): Promise<void> {
    await this.db.kysely
      .insertInto('variables')
      .values({ id: newId(), scope, key, value, secret_ref: null, updated_at: at, set_by_job_id: setByJobId })
      .onConflict((oc) => oc.columns(['scope', 'key']).doUpdateSet({ value, updated_at: at, set_by_job_id: setByJobId }).where('variables.secret_ref', 'is', null))
      .execute();
  }
}
