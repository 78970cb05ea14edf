/**
 * Run targets: the one place where "these servers and every server tagged X" becomes a list of server ids, at the
 * moment a run starts (manual run, schedule fire, workflow step, re-run: all through JobService.runEvent). The list it
 * returns is what the run records (event_runs.server_ids); a server tagged later is not added to a started run.
 * It reads servers only; it never starts anything.
 */
import type { AppDatabase } from '../db/database';
import { parseJsonColumn } from '../db/json-column';
import { ServerStore } from '../servers/server-store';
import { AppError } from '../errors';

export interface RunTargetRequest {
  /** Servers asked for by id (already checked to exist by the caller, or refused here). */
  serverIds: string[];
  /** Every server carrying at least one of these tags now. */
  tags: string[];
}

export interface ResolvedTargets {
  /** Unique, chosen servers first (in the order given), then tagged ones by server name. */
  serverIds: string[];
  /** For each tag asked for, how many servers carried it (a tag matching none is reported, not silently empty). */
  perTag: Record<string, number>;
}

export async function resolveRunTargets(db: AppDatabase, request: RunTargetRequest): Promise<ResolvedTargets> {
  const rows = await new ServerStore(db).list();
  const known = new Set(rows.map((r) => r.id));
  const missing = request.serverIds.filter((id) => !known.has(id));
  if (missing.length) throw new AppError('SERVER_NOT_FOUND', `server ${missing[0]} no longer exists; edit the event's targets`);
  const ids = [...new Set(request.serverIds)];
  const perTag: Record<string, number> = {};
  const wanted = new Set(request.tags);
  for (const tag of wanted) perTag[tag] = 0;
  if (wanted.size > 0) {
    for (const row of rows) {
      const tags = parseJsonColumn<unknown[]>(row.tags, []).filter((t): t is string => typeof t === 'string');
      const hits = tags.filter((t) => wanted.has(t));
      for (const t of hits) perTag[t] = (perTag[t] ?? 0) + 1;
      if (hits.length > 0 && !ids.includes(row.id)) ids.push(row.id);
    }
  }
  return { serverIds: ids, perTag };
}
