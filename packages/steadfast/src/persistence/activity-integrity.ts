/**
 * Tamper evidence for the ActivityLog. Each entry hashes its content together with the hash of
 * the previous entry of the same record, so altering an entry breaks its own hash and removing
 * one breaks the link of the entry after it. The record's current version pins the chain's end,
 * so removing a record's newest entries shows too.
 *
 * Pruning keeps, for each record, the newest entry older than the cut-off and marks it a
 * checkpoint: the chain then starts there, it still carries the record's full state (its
 * snapshot), and the rest of the chain verifies as before.
 *
 * Entries that record a refusal (action `refused`) are links of no chain: each is checked against
 * its own hash only, and pruning keeps none of them.
 */
import type { Kysely } from 'kysely';
import type { ActivityLogRow, Database } from '../db/schema.js';
import { hashEntry } from './activity-entry.js';
import { REFUSED_ACTION } from './authorize.js';
import type { ModelRegistry } from './model-registry.js';

export interface ChainProblem {
  /** The entry named, or null when the problem is a record with no entry to name. */
  readonly entryId: number | null;
  readonly model: string;
  readonly objectId: string;
  readonly reason: string;
}

export interface ChainReport {
  readonly ok: boolean;
  readonly entriesChecked: number;
  readonly chainsChecked: number;
  /** In log order; the first is the first entry found altered or missing. */
  readonly problems: readonly ChainProblem[];
}

const PAGE = 5000;
const MAX_PROBLEMS = 100;

interface ChainTail {
  readonly id: number;
  readonly version: number;
  readonly action: string;
}

export async function verifyActivityLog(db: Kysely<Database>, registry: ModelRegistry): Promise<ChainReport> {
  const problems: ChainProblem[] = [];
  const report = (problem: ChainProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(problem);
  };
  const tails = new Map<string, ChainTail>();
  let entriesChecked = 0;
  let previous: ActivityLogRow | undefined;
  let after: { model: string; objectId: string; id: number } | undefined;

  for (;;) {
    let select = db.selectFrom('steadfast_activity_log').selectAll();
    if (after) {
      const a = after;
      select = select.where((eb) =>
        eb.or([
          eb('model', '>', a.model),
          eb.and([eb('model', '=', a.model), eb('object_id', '>', a.objectId)]),
          eb.and([eb('model', '=', a.model), eb('object_id', '=', a.objectId), eb('id', '>', a.id)]),
        ]),
      );
    }
    const rows = await select.orderBy('model').orderBy('object_id').orderBy('id').limit(PAGE).execute();
    for (const row of rows) {
      entriesChecked += 1;
      const id = Number(row.id);
      const where = { entryId: id, model: row.model, objectId: row.object_id };
      if (hashEntry({ ...row, version: Number(row.version) }) !== row.hash) {
        report({ ...where, reason: `entry ${id} was altered: its content no longer matches its hash` });
      }
      // A refusal changed no record: it stands alone, a link of no chain (authorize.ts).
      if (row.action === REFUSED_ACTION) {
        if (row.prev_hash !== null) {
          report({ ...where, reason: `entry ${id} records a refusal but follows another entry` });
        }
        continue;
      }
      const sameChain = previous && previous.model === row.model && previous.object_id === row.object_id;
      if (sameChain && previous) {
        if (row.prev_hash !== previous.hash) {
          report({
            ...where,
            reason: `entry ${id} does not follow entry ${previous.id}: an entry between them was removed or entry ${previous.id} was altered`,
          });
        } else if (Number(row.version) <= Number(previous.version)) {
          report({
            ...where,
            reason: `entry ${id} has version ${row.version}, not after ${previous.version}`,
          });
        } else if (registry.has(row.model) && Number(row.version) !== Number(previous.version) + 1) {
          report({
            ...where,
            reason: `entries for versions ${Number(previous.version) + 1}..${Number(row.version) - 1} before entry ${id} were removed`,
          });
        }
      } else if (row.prev_hash !== null && Number(row.checkpoint) !== 1) {
        report({ ...where, reason: `entry ${id} starts its chain but follows an entry that was removed` });
      }
      tails.set(`${row.model}\u0000${row.object_id}`, {
        id,
        version: Number(row.version),
        action: row.action,
      });
      previous = row;
    }
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) break;
    after = { model: last.model, objectId: last.object_id, id: Number(last.id) };
  }

  await checkChainEnds(db, registry, tails, report);
  return { ok: problems.length === 0, entriesChecked, chainsChecked: tails.size, problems };
}

/** Every tracked record's version must be its chain's last version; a record gone must end in a delete. */
async function checkChainEnds(
  db: Kysely<Database>,
  registry: ModelRegistry,
  tails: Map<string, ChainTail>,
  report: (problem: ChainProblem) => void,
): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: model tables are named at run time.
  const dynamic = db as unknown as Kysely<any>;
  for (const model of registry.all()) {
    const live = new Set<string>();
    const records = (await dynamic
      .selectFrom(model.table)
      .select([`${model.primaryKey} as key`, 'version'])
      .execute()) as Array<{ key: unknown; version: unknown }>;
    for (const record of records) {
      const objectId = String(record.key);
      live.add(objectId);
      const tail = tails.get(`${model.name}\u0000${objectId}`);
      const version = Number(record.version);
      if (!tail) {
        report({
          entryId: null,
          model: model.name,
          objectId,
          reason: `${model.name} ${objectId} has no log entries`,
        });
      } else if (tail.version !== version) {
        report({
          entryId: tail.id,
          model: model.name,
          objectId,
          reason: `${model.name} ${objectId} is at version ${version} but its log ends at version ${tail.version} (entry ${tail.id}): newer entries were removed`,
        });
      }
    }
    for (const [chainKey, tail] of tails) {
      const [chainModel, objectId = ''] = chainKey.split('\u0000');
      if (chainModel !== model.name || live.has(objectId) || tail.action === 'delete') continue;
      report({
        entryId: tail.id,
        model: model.name,
        objectId,
        reason: `${model.name} ${objectId} no longer exists but its log has no delete after entry ${tail.id}`,
      });
    }
  }
}

export interface PruneResult {
  readonly removed: number;
  readonly checkpoints: number;
}

/** Removes entries older than `before`, keeping each record's newest such entry as a checkpoint. */
export async function pruneActivityLog(db: Kysely<Database>, before: Date): Promise<PruneResult> {
  const cutoff = before.toISOString();
  return db.transaction().execute(async (trx) => {
    // Refusals stand in no chain: none is kept as a checkpoint, all older ones go.
    const keep = trx
      .selectFrom('steadfast_activity_log')
      .select((eb) => eb.fn.max('id').as('id'))
      .where('created_at', '<', cutoff)
      .where('action', '<>', REFUSED_ACTION)
      .groupBy(['model', 'object_id']);
    const removed = await trx
      .deleteFrom('steadfast_activity_log')
      .where('created_at', '<', cutoff)
      .where('id', 'not in', keep)
      .executeTakeFirst();
    const marked = await trx
      .updateTable('steadfast_activity_log')
      .set({ checkpoint: 1 })
      .where('id', 'in', keep)
      .where('checkpoint', '=', 0)
      .executeTakeFirst();
    return { removed: Number(removed.numDeletedRows), checkpoints: Number(marked.numUpdatedRows) };
  });
}
