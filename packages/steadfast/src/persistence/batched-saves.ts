/**
 * Batched saves: the saves SaveBatcher (save-batcher.ts) gathers, written in its one transaction.
 * Updates of existing records share the reads, the writes (on PostgreSQL one statement per set of
 * columns writes the updates and their log entries; on SQLite one log insert for all) and the
 * verification; any other save runs on the single-save path in a savepoint of its own.
 */

import type { NewActivityLogRow } from '../db/schema.js';
import type { ActivityEntry } from './activity-entry.js';
import type { TrackedChange } from './change-tracker.js';
import { compareKeys } from './lock-order.js';
import type { ModelDefinition } from './model-registry.js';
import { expectedRow, pickTracked, recordKey, sameTracked, splitValues } from './model-values.js';
import { checkReadBack, readMany } from './record-reads.js';
import type { BatchOutcome } from './save-batcher.js';
import type { StoredRow } from './save-statements.js';
import type { RecordValues, SaveOptions, SaveResult, SaveServices, StoredRecord } from './save-types.js';
import { isMissing, planUpdate, StoredOtherwise, saveRequest, type UpdatePlan } from './single-save.js';
import type { Actor, Executor } from './transaction-context.js';
import { asPersistenceError } from './write-errors.js';

/** One `saveWithPersistence` call waiting for its batch. */
export interface QueuedSave {
  readonly model: string;
  readonly values: RecordValues;
  readonly options: SaveOptions;
  readonly actor: Actor;
  /** The record the values name, when they name one (`Model\0key`). */
  readonly record: string | undefined;
}

/** A batched save's update, written and verified with the others. */
interface BatchedUpdate {
  readonly index: number;
  readonly definition: ModelDefinition;
  readonly key: string | number;
  readonly current: { readonly row: StoredRecord; readonly headHash: string | null };
  readonly plan: Extract<UpdatePlan, { kind: 'write' }>;
  readonly actor: Actor;
  readonly action: 'update' | 'sync';
}

/** A batched update as written: the record stored and its log entry. */
interface BatchedSave {
  readonly record: StoredRecord;
  readonly entry: ActivityEntry | undefined;
}

/** Thrown inside a batch to abandon it: every save of it then runs alone. */
class BatchAbandoned extends Error {}

/**
 * A batch of saves of distinct records, in the batcher's open transaction. Updates of existing
 * records share the reads, the verification and the log insert; any other save (a create, a
 * record not found) runs in its own savepoint inside the same transaction, through `saveAlone`
 * (the manager's single-save path, told the save was authorized with the batch).
 */
export async function saveBatch(
  services: SaveServices,
  saves: readonly QueuedSave[],
  saveAlone: (save: QueuedSave) => Promise<SaveResult>,
): Promise<Array<BatchOutcome<SaveResult>>> {
  const executor = services.context.executor();
  const now = services.clock.now().toISOString();
  const outcomes: Array<BatchOutcome<SaveResult> | undefined> = new Array(saves.length);
  const alone: number[] = [];
  const updates: BatchedUpdate[] = [];
  const parsed = saves.map((save, index) => {
    try {
      const definition = services.registry.get(save.model);
      return { definition, ...splitValues(definition, save.values, save.options) };
    } catch (error) {
      outcomes[index] = { ok: false, error };
      return undefined;
    }
  });
  const named = parsed.flatMap((entry) =>
    entry?.key === undefined ? [] : [{ definition: entry.definition, key: entry.key }],
  );
  const currentRows = new Map<ModelDefinition, Map<string, { row: StoredRecord; headHash: string | null }>>();
  for (const [definition, keys] of groupKeys(named)) {
    currentRows.set(definition, await services.statements.readManyWithHead(executor, definition, keys));
  }
  const authorizer = services.authorizer;
  if (authorizer) {
    // Every save of the batch asked before any is written; a refused one is answered alone and
    // the others go on, as a stale one is. Its refusal is logged if the batch commits: an
    // abandoned batch's saves run again alone, and meet the refusal there.
    for (const [index, entry] of parsed.entries()) {
      const save = saves[index] as QueuedSave;
      const current =
        entry?.key === undefined ? undefined : currentRows.get(entry.definition)?.get(String(entry.key));
      if (!entry || isMissing(entry.definition, entry.key, current, save.options)) continue;
      try {
        const refused = await authorizer.check(
          saveRequest(save.actor, entry.definition, entry.key, current?.row, entry.fields, save.options),
        );
        if (!refused) continue;
        authorizer.logOnCommit(refused);
        outcomes[index] = { ok: false, error: refused };
      } catch (error) {
        outcomes[index] = { ok: false, error };
      }
      parsed[index] = undefined;
    }
  }
  parsed.forEach((entry, index) => {
    if (!entry) return;
    const save = saves[index] as QueuedSave;
    const current =
      entry.key === undefined ? undefined : currentRows.get(entry.definition)?.get(String(entry.key));
    // Creates and reverts keep the one-save path (in a savepoint of this transaction).
    if (entry.key === undefined || !current || save.options.action === 'revert') {
      alone.push(index);
      return;
    }
    try {
      const plan = planUpdate(entry.definition, entry.key, current.row, entry.fields, {
        expectedVersion: entry.expectedVersion,
        options: save.options,
        now,
      });
      if (plan.kind === 'unchanged') outcomes[index] = { ok: true, value: { ...plan.result, entry: null } };
      else
        updates.push({
          index,
          definition: entry.definition,
          key: entry.key,
          current,
          plan,
          actor: save.actor,
          action: save.options.action ?? 'update',
        });
    } catch (error) {
      outcomes[index] = { ok: false, error };
    }
  });

  if (updates.length > 0) {
    // One order for every batch, so that batches of two processes never wait on each other's row locks in a cycle.
    const ordered = [...updates].sort(
      (a, b) => compareKeys(a.definition.name, b.definition.name) || compareKeys(a.key, b.key),
    );
    const saved = services.logInWrite
      ? await writeAndLogUpdates(services, executor, ordered)
      : await writeUpdatesThenLog(services, executor, ordered);
    ordered.forEach((update, n) => {
      const { record, entry } = saved[n] as { record: StoredRecord; entry: ActivityEntry | undefined };
      outcomes[update.index] = {
        ok: true,
        value: {
          record,
          created: false,
          changed: true,
          version: update.plan.version,
          entry: entry ?? null,
        },
      };
      if (services.logger) {
        const model = update.definition.name;
        services.context.onCommit(() => services.logger?.info(`[PERSISTENCE] Successfully saved ${model}`));
      }
    });
  }

  for (const index of alone) {
    const save = saves[index] as QueuedSave;
    try {
      // Inside the batch's transaction: a savepoint of its own, so its failure undoes only itself.
      // Authorized with the rest of the batch, above.
      const value = await services.context.runAs(save.actor, () => saveAlone(save));
      outcomes[index] = { ok: true, value };
    } catch (error) {
      outcomes[index] = { ok: false, error: asPersistenceError(error) };
    }
  }
  return outcomes.map(
    (outcome) => outcome ?? { ok: false, error: new Error('a batched save got no outcome') },
  );
}

/**
 * PostgreSQL: writes a batch's updates and their log entries, each update only if its record is
 * still at the version read; one statement per set of columns, so a round trip per shape, not
 * per save. Each entry describes the row its update is to store, and the rows stored are checked
 * against them before anything commits. Throws BatchAbandoned when any record moved since the
 * batch read it, and any error of a save (a verification failure) to abandon the batch.
 */
async function writeAndLogUpdates(
  services: SaveServices,
  executor: Executor,
  updates: readonly BatchedUpdate[],
): Promise<BatchedSave[]> {
  const expected = updates.map(({ definition, current, plan }) =>
    pickTracked(definition, expectedRow(current.row, plan.set)),
  );
  const prepared = await services.tracker.prepareEntries(
    updates.map((update, n) => changeOfUpdate(update, expected[n] as Record<string, unknown>)),
  );
  const position = new Map(updates.map((update, n) => [update, n]));
  const stored = new Map<string, StoredRow>();
  for (const group of groupByShape(updates)) {
    const { definition } = group[0] as BatchedUpdate;
    const { primaryKey } = definition;
    const columns = Object.keys(group[0]?.plan.set ?? {}).filter((column) => column !== 'version');
    const rows = group.map(({ key, plan }) => ({
      ...plan.set,
      [primaryKey]: key,
      version: plan.currentVersion,
    }));
    const entries = group.map((update) => prepared.rows[position.get(update) ?? -1] as NewActivityLogRow);
    const written = await services.statements.updateManyAndLog(executor, definition, columns, rows, entries);
    if (written.length !== group.length) throw new BatchAbandoned('a record moved during the batch');
    for (const row of written) stored.set(recordKey(definition, row.key), row);
  }
  const rewritten = updates.filter(({ definition, key }) => !stored.get(recordKey(definition, key))?.row);
  const readBacks = await readBackMany(executor, rewritten);
  const ids: unknown[] = [];
  const records = updates.map(({ definition, key, plan }, n) => {
    const write = stored.get(recordKey(definition, key));
    ids.push(write?.entryId);
    const record = checkReadBack(
      definition,
      key,
      write?.row ?? readBacks.get(recordKey(definition, key)),
      plan.set,
    );
    // Abandons the batch; alone, the save logs the row as read back.
    if (!sameTracked(definition, record, expected[n] as Record<string, unknown>)) throw new StoredOtherwise();
    return record;
  });
  const entries = prepared.complete(ids);
  return records.map((record, n) => ({ record, entry: entries[n] }));
}

/**
 * SQLite: writes a batch's updates one statement each, in the one writer's transaction (each
 * answering its row as stored, or read back in one query per model when its table has
 * triggers), and logs them in one insert. Throws BatchAbandoned when any record moved since the
 * batch read it (another process).
 */
async function writeUpdatesThenLog(
  services: SaveServices,
  executor: Executor,
  updates: readonly BatchedUpdate[],
): Promise<BatchedSave[]> {
  const stored = new Map<string, StoredRecord | undefined>();
  for (const { definition, key, plan } of updates) {
    const written = await services.statements.update(
      executor,
      definition,
      key,
      plan.currentVersion,
      plan.set,
      undefined,
    );
    if (!written) throw new BatchAbandoned('a record moved during the batch');
    stored.set(recordKey(definition, key), written.row);
  }
  const readBacks = await readBackMany(
    executor,
    updates.filter(({ definition, key }) => !stored.get(recordKey(definition, key))),
  );
  // Throws a VerificationError; the batch is abandoned and the save meets it again alone.
  const records = updates.map(({ definition, key, plan }) => {
    const name = recordKey(definition, key);
    return checkReadBack(definition, key, stored.get(name) ?? readBacks.get(name), plan.set);
  });
  const entries = await services.tracker.trackChanges(
    updates.map((update, n) =>
      changeOfUpdate(update, pickTracked(update.definition, records[n] as StoredRecord)),
    ),
  );
  return records.map((record, n) => ({ record, entry: entries[n] }));
}

/** The rows of `updates` as read back now, one query per model, by record key. */
async function readBackMany(
  executor: Executor,
  updates: readonly BatchedUpdate[],
): Promise<Map<string, StoredRecord>> {
  const readBacks = new Map<string, StoredRecord>();
  for (const [definition, keys] of groupKeys(updates)) {
    for (const row of await readMany(executor, definition, keys)) {
      readBacks.set(recordKey(definition, row[definition.primaryKey]), row);
    }
  }
  return readBacks;
}

/** A batch's updates by model and set of columns: one statement writes each group. */
function groupByShape(updates: readonly BatchedUpdate[]): BatchedUpdate[][] {
  const shapes = new Map<string, BatchedUpdate[]>();
  for (const update of updates) {
    const shape = `${update.definition.name}\u0000${Object.keys(update.plan.set).sort().join(',')}`;
    const group = shapes.get(shape) ?? [];
    group.push(update);
    shapes.set(shape, group);
  }
  return [...shapes.values()];
}

/** The change a batched update logs, given the tracked fields of the row it stored. */
function changeOfUpdate(update: BatchedUpdate, after: Record<string, unknown>): TrackedChange {
  const { definition, key, current, plan, actor, action } = update;
  return {
    model: definition.name,
    objectId: String(key),
    action,
    before: pickTracked(definition, current.row),
    after,
    version: plan.version,
    secretFields: definition.secretFields,
    prevHash: current.headHash,
    actor,
  };
}

/** The keys of each model, for reading many records of one model in one query. */
function groupKeys(
  named: ReadonlyArray<{ readonly definition: ModelDefinition; readonly key: string | number }>,
): Map<ModelDefinition, Array<string | number>> {
  const groups = new Map<ModelDefinition, Array<string | number>>();
  for (const { definition, key } of named) {
    const keys = groups.get(definition) ?? [];
    keys.push(key);
    groups.set(definition, keys);
  }
  return groups;
}
