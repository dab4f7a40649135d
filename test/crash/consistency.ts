/**
 * What must hold in the database after any crash: SQLite's own integrity check, the ActivityLog's
 * hash chains, every record's and draft's current state equal to the last snapshot in its log (no
 * change without its entry, no entry without its change), and, for the sync clients of a load,
 * every acknowledged mutation present exactly once and in order.
 */
import { type Kysely, sql } from 'kysely';
import { createAppPersistence } from '../../examples/business-app/src/app-database.js';
import type { Database } from '../../packages/steadfast/src/db/index.js';
import { REDACTED, verifyActivityLog } from '../../packages/steadfast/src/persistence/index.js';
import { DRAFT_MODEL } from '../../packages/steadfast/src/sync/sync-service.js';
import type { EngineName } from '../support/databases.js';
import type { SyncClientState } from './sync-load.js';

export interface ConsistencyReport {
  readonly problems: string[];
  readonly logEntries: number;
  readonly chains: number;
  readonly recordsChecked: number;
  readonly draftsChecked: number;
  /** Sum over the clients of the mutations the database holds as applied. */
  readonly appliedMutations: number;
  readonly acknowledgedMutations: number;
}

interface LogRow {
  id: number;
  model: string;
  object_id: string;
  action: string;
  snapshot: string;
  changes: string;
}

/** Loose equality of a column value and its logged value (pg gives numbers back as strings). */
function sameValue(current: unknown, logged: unknown): boolean {
  if (current === logged) return true;
  if (current === null || logged === null || current === undefined || logged === undefined) return false;
  return String(current) === String(logged);
}

export async function checkConsistency(
  db: Kysely<Database>,
  engine: EngineName,
  clients: readonly SyncClientState[] = [],
): Promise<ConsistencyReport> {
  const problems: string[] = [];
  if (engine === 'sqlite') {
    const result = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(db);
    const verdict = result.rows.map((row) => row.integrity_check).join('; ');
    if (verdict !== 'ok') problems.push(`sqlite integrity_check: ${verdict}`);
  }
  const { registry } = createAppPersistence({ db });
  const chain = await verifyActivityLog(db, registry);
  if (!chain.ok) {
    for (const problem of chain.problems.slice(0, 5)) problems.push(`activity chain: ${problem.reason}`);
  }

  // The last entry of every chain, and every Draft entry (for the per-mutation check below).
  const rows = (await db
    .selectFrom('steadfast_activity_log')
    .select(['id', 'model', 'object_id', 'action', 'snapshot', 'changes'])
    .orderBy('id')
    .execute()) as LogRow[];
  const last = new Map<string, LogRow>();
  for (const row of rows) last.set(`${row.model}\u0000${row.object_id}`, { ...row, id: Number(row.id) });

  let recordsChecked = 0;
  for (const definition of registry.all()) {
    const records = (await db
      .selectFrom(definition.table as 'steadfast_users')
      .selectAll()
      .execute()) as unknown as Record<string, unknown>[];
    const present = new Set<string>();
    for (const record of records) {
      recordsChecked += 1;
      const id = String(record[definition.primaryKey]);
      present.add(id);
      const entry = last.get(`${definition.name}\u0000${id}`);
      if (!entry) {
        problems.push(`${definition.name} ${id} exists with no ActivityLog entry`);
        continue;
      }
      if (entry.action === 'delete') {
        problems.push(`${definition.name} ${id} exists but its last log entry deletes it`);
        continue;
      }
      const snapshot = JSON.parse(entry.snapshot) as Record<string, unknown>;
      for (const field of definition.trackedFields) {
        if (snapshot[field] === REDACTED || definition.secretFields?.includes(field)) continue;
        if (!sameValue(record[field], snapshot[field])) {
          problems.push(
            `${definition.name} ${id}.${field} is ${JSON.stringify(record[field])} but its log says ${JSON.stringify(snapshot[field])}`,
          );
        }
      }
    }
    for (const [key, entry] of last) {
      const [model, objectId] = key.split('\u0000') as [string, string];
      if (model === definition.name && entry.action !== 'delete' && !present.has(objectId)) {
        problems.push(
          `${model} ${objectId} is logged (entry ${entry.id}) but missing from ${definition.table}`,
        );
      }
    }
  }

  // Drafts: the row equals the last Draft entry's snapshot; a deleted draft has no row.
  const drafts = await db.selectFrom('steadfast_drafts').selectAll().execute();
  const draftIds = new Set<string>();
  for (const draft of drafts) {
    const objectId = `${Number(draft.user_id)}:${draft.kind}:${draft.key}`;
    draftIds.add(objectId);
    const entry = last.get(`${DRAFT_MODEL}\u0000${objectId}`);
    if (!entry) {
      problems.push(`draft ${objectId} exists with no ActivityLog entry`);
      continue;
    }
    const data = JSON.parse(draft.data) as unknown;
    const snapshot = JSON.parse(entry.snapshot) as unknown;
    const expected =
      typeof data === 'object' && data !== null && !Array.isArray(data) ? data : { value: data };
    if (JSON.stringify(expected) !== JSON.stringify(snapshot)) {
      problems.push(`draft ${objectId} holds ${draft.data} but its log says ${entry.snapshot}`);
    }
  }
  for (const [key, entry] of last) {
    const [model, objectId] = key.split('\u0000') as [string, string];
    // A deleting sync logs the draft's last state with every field going to null.
    if (model === DRAFT_MODEL && !draftIds.has(objectId) && !isDeletion(entry.changes)) {
      problems.push(`draft ${objectId} is logged (entry ${entry.id}) but missing from steadfast_drafts`);
    }
  }

  // The load's clients: mutations 1..N applied exactly once, in order, N ≥ every acknowledged id.
  let appliedMutations = 0;
  let acknowledgedMutations = 0;
  const clientRows = await db.selectFrom('steadfast_sync_clients').selectAll().execute();
  const lastApplied = new Map(clientRows.map((row) => [row.client_id, Number(row.last_mutation_id)]));
  const draftEntries = rows.filter((row) => row.model === DRAFT_MODEL && row.action === 'sync');
  for (const client of clients) {
    const prefix = `${client.userId}:form:${client.keyPrefix}`;
    const applied = draftEntries
      .filter((row) => row.object_id.startsWith(prefix))
      .map((row) => JSON.parse(row.snapshot) as { c?: string; m?: number });
    const ids = applied.filter((s) => s.c === client.clientId).map((s) => s.m ?? -1);
    const n = lastApplied.get(client.clientId) ?? 0;
    appliedMutations += ids.length;
    acknowledgedMutations += client.acknowledged;
    const expected = Array.from({ length: n }, (_, i) => i + 1);
    if (JSON.stringify(ids) !== JSON.stringify(expected)) {
      const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
      const missing = expected.filter((id) => !ids.includes(id));
      problems.push(
        `client ${client.clientId}: log holds ${ids.length} sync entries for last_mutation_id ${n}` +
          ` (missing ${missing.slice(0, 10).join(',') || 'none'}, twice ${duplicates.slice(0, 10).join(',') || 'none'}, in order ${isSorted(ids)})`,
      );
    }
    if (client.highestAcknowledged > n) {
      problems.push(
        `client ${client.clientId}: mutation ${client.highestAcknowledged} was acknowledged but the server holds only up to ${n}`,
      );
    }
  }

  return {
    problems,
    logEntries: chain.entriesChecked,
    chains: chain.chainsChecked,
    recordsChecked,
    draftsChecked: drafts.length,
    appliedMutations,
    acknowledgedMutations,
  };
}

function isSorted(ids: readonly number[]): boolean {
  return ids.every((id, i) => i === 0 || (ids[i - 1] ?? 0) < id);
}

function isDeletion(changes: string): boolean {
  const fields = Object.values(JSON.parse(changes) as Record<string, [unknown, unknown]>);
  return fields.length > 0 && fields.every(([, after]) => after === null);
}
