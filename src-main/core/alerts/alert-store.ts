/**
 * AlertStore: the one holder of the SQL over `alert_rules`, `alert_deliveries` and `alert_attempts`. AlertService
 * decides (validation, secrets, which alerts to send); AlertDeliveryQueue records deliveries and attempts through here.
 * It never sees a channel secret: rules hold a keychain reference.
 */
import type { AppDatabase } from '../db/database';
import type { NewRow, Row, RowUpdate } from '../db/schema';

export type AlertRuleRow = Row<'alert_rules'>;
export type AlertDeliveryRow = Row<'alert_deliveries'>;
export type AlertAttemptRow = Row<'alert_attempts'>;

export class AlertStore {
  constructor(private readonly db: AppDatabase) {}

  listRules(): Promise<AlertRuleRow[]> {
    return this.db.kysely.selectFrom('alert_rules').selectAll().orderBy('name').execute();
  }

  findRule(id: string): Promise<AlertRuleRow | undefined> {
    return this.db.kysely.selectFrom('alert_rules').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async ruleIdByName(name: string): Promise<string | undefined> {
    return (await this.db.kysely.selectFrom('alert_rules').select('id').where('name', '=', name).executeTakeFirst())?.id;
  }

  async insertRule(row: NewRow<'alert_rules'>): Promise<void> {
    await this.db.kysely.insertInto('alert_rules').values(row).execute();
  }

  async updateRule(id: string, set: RowUpdate<'alert_rules'>): Promise<void> {
    await this.db.kysely.updateTable('alert_rules').set(set).where('id', '=', id).execute();
  }

  async deleteRule(id: string): Promise<void> {
    await this.db.kysely.deleteFrom('alert_rules').where('id', '=', id).execute();
  }

  async insertDelivery(row: NewRow<'alert_deliveries'>): Promise<void> {
    await this.db.kysely.insertInto('alert_deliveries').values(row).execute();
  }

  findDelivery(id: string): Promise<AlertDeliveryRow | undefined> {
    return this.db.kysely.selectFrom('alert_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async updateDelivery(id: string, set: RowUpdate<'alert_deliveries'>): Promise<void> {
    await this.db.kysely.updateTable('alert_deliveries').set(set).where('id', '=', id).execute();
  }

  /** Folds one more alert into a delivery (a duplicate, or one over the rate limit). */
  async addSuppressed(id: string): Promise<void> {
    await this.db.kysely
      .updateTable('alert_deliveries')
      .set((eb) => ({ suppressed: eb('suppressed', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  /** The newest delivery of a rule with this dedup key created at or after `since` (ISO). */
  lastWithKeySince(ruleId: string, dedupKey: string, since: string): Promise<AlertDeliveryRow | undefined> {
    return this.db.kysely
      .selectFrom('alert_deliveries')
      .selectAll()
      .where('rule_id', '=', ruleId)
      .where('dedup_key', '=', dedupKey)
      .where('created_at', '>=', since)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
  }

  /** A rule's deliveries created at or after `since` (ISO), newest first (the rate limit counts them). */
  deliveriesOfRuleSince(ruleId: string, since: string): Promise<AlertDeliveryRow[]> {
    return this.db.kysely
      .selectFrom('alert_deliveries')
      .selectAll()
      .where('rule_id', '=', ruleId)
      .where('created_at', '>=', since)
      .orderBy('created_at', 'desc')
      .execute();
  }

  pendingDeliveries(): Promise<AlertDeliveryRow[]> {
    return this.db.kysely.selectFrom('alert_deliveries').selectAll().where('status', '=', 'pending').orderBy('created_at').execute();
  }

  history(filter: { ruleId?: string; limit: number }): Promise<AlertDeliveryRow[]> {
    let q = this.db.kysely.selectFrom('alert_deliveries').selectAll();
    if (filter.ruleId) q = q.where('rule_id', '=', filter.ruleId);
    return q.orderBy('created_at', 'desc').orderBy('id').limit(filter.limit).execute();
  }

  async recordAttempt(row: NewRow<'alert_attempts'>): Promise<void> {
    await this.db.kysely.insertInto('alert_attempts').values(row).execute();
  }

  async attemptsOf(deliveryIds: string[]): Promise<Map<string, AlertAttemptRow[]>> {
    const out = new Map<string, AlertAttemptRow[]>();
    if (deliveryIds.length === 0) return out;
    const rows = await this.db.kysely
      .selectFrom('alert_attempts')
      .selectAll()
      .where('delivery_id', 'in', deliveryIds)
      .orderBy('delivery_id')
      .orderBy('attempt')
      .execute();
    for (const r of rows) {
      const list = out.get(r.delivery_id) ?? [];
      list.push(r);
      out.set(r.delivery_id, list);
    }
    return out;
  }
}
