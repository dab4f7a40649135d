/**
 * The persistence manager: every change to a tracked record goes through here, inside a
 * transaction (the ambient one when there is one), with an optimistic version check, a
 * verification of the row the database stored and an ActivityLog entry written in the same
 * transaction. Each save and delete asks the `authorize` hook (authorize.ts) once it has read the
 * record and before it writes anything; a batch asks for each of its saves before writing any.
 * Any failure rolls back the record and its log entries together. The statements
 * that do it, and why the row a write returns may stand for a read-back, are in
 * save-statements.ts.
 */
import { type ExpressionBuilder, type RawBuilder, sql } from 'kysely';
import type { z } from 'zod';
import type { DialectName } from '../db/dialect-name.js';
import type { Database, NewActivityLogRow } from '../db/schema.js';
import type { ActivityAction, ActivityEntry } from './activity-entry.js';
import type { AuthorizeRequest, Authorizer } from './authorize.js';
import { type ChangeTracker, normalise, sameValue, type TrackedChange } from './change-tracker.js';
import type { Clock } from './clock.js';
import {
  ConflictError,
  isStorageUnavailable,
  NotFoundError,
  PersistenceError,
  StorageUnavailableError,
  ValidationError,
  VerificationError,
} from './errors.js';
import type { GroupCommitter } from './group-commit.js';
import { compareKeys } from './lock-order.js';
import type { ModelDefinition, ModelRegistry } from './model-registry.js';
import { type BatchOutcome, SaveBatcher } from './save-batcher.js';
import { SaveStatements, type StoredRow } from './save-statements.js';
import { assertStorableText } from './storable-text.js';
import type { Actor, Executor, TransactionContext } from './transaction-context.js';

export type RecordValues = Readonly<Record<string, unknown>>;
export type StoredRecord = Readonly<Record<string, unknown>>;

export interface SaveOptions {
  /**
   * The version the caller's copy was read at. When the record is no longer at it, the save fails
   * with a ConflictError and writes nothing. A `version` key in the values means the same.
   */
  readonly expectedVersion?: number;
  /** Logged action; defaults to `create` or `update`. */
  readonly action?: Extract<ActivityAction, 'revert' | 'sync'>;
}

export interface SaveResult {
  /** The record as read back from the database after the write. */
  readonly record: StoredRecord;
  readonly created: boolean;
  /** False when the values matched the record already: nothing written, nothing logged. */
  readonly changed: boolean;
  readonly version: number;
  readonly entry: ActivityEntry | null;
}

export interface DeleteResult {
  /** The record's last state. */
  readonly record: StoredRecord;
  readonly entry: ActivityEntry;
}

/** The step a hook runs at; a hook that throws aborts the save and rolls everything back. */
export interface SaveStep {
  readonly model: string;
  readonly objectId: string | undefined;
  readonly values: RecordValues;
}

/** Extension points at each step of a save (validation rules, fault injection in tests). */
export interface PersistenceHooks {
  beforeWrite?(step: SaveStep): void | Promise<void>;
  afterWrite?(step: SaveStep): void | Promise<void>;
  afterVerify?(step: SaveStep): void | Promise<void>;
  beforeLog?(changes: readonly TrackedChange[]): void | Promise<void>;
}

export interface PersistenceLogger {
  info(message: string): void;
}

export interface PersistenceManagerOptions {
  readonly dialect: DialectName;
  readonly registry: ModelRegistry;
  readonly context: TransactionContext;
  readonly tracker: ChangeTracker;
  readonly clock: Clock;
  readonly hooks?: PersistenceHooks;
  readonly logger?: PersistenceLogger;
  /**
   * When given, saves made outside any transaction share transactions with concurrent saves (one
   * commit, one fsync, for many), each in its own savepoint so each still succeeds or fails alone.
   */
  readonly committer?: GroupCommitter;
  /**
   * Concurrent single-record saves made outside a transaction are written in batches: one
   * transaction, one read and shared writes for many (see SaveBatcher).
   * Ignored when hooks are set: hooks run at each step of one save.
   */
  readonly batchSaves?: boolean;
  /** Most batches written at once (default 1; PostgreSQL's pooled connections can take more). */
  readonly batchesInFlight?: number;
  /** Called with each batch's size and how it ended (metrics; tests that need to see a batch form). */
  readonly onSaveBatch?: (size: number, outcome: 'committed' | 'abandoned' | 'failed') => void;
  /** Asked before every save and delete (the `authorize` option); none: everything is allowed. */
  readonly authorizer?: Authorizer;
}

/** One `saveWithPersistence` call waiting for its batch. */
interface QueuedSave {
  readonly model: string;
  readonly values: RecordValues;
  readonly options: SaveOptions;
  readonly actor: Actor;
  /** The record the values name, when they name one (`Model\0key`). */
  readonly record: string | undefined;
}

/** What an update writes, decided from the current row before anything is written. */
type UpdatePlan =
  | { readonly kind: 'unchanged'; readonly result: Omit<SaveResult, 'entry'> }
  | {
      readonly kind: 'write';
      readonly set: Record<string, unknown>;
      readonly currentVersion: number;
      readonly version: number;
    };

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

/** One save written: its entry, when logged in its write, or the change still to log. */
interface PendingSave {
  readonly result: Omit<SaveResult, 'entry'>;
  readonly change: TrackedChange | null;
  readonly entry?: ActivityEntry;
}

/**
 * The row stored differs from the one its log entry (written in the same statement) describes, in
 * a tracked field the save did not write: someone changed the record between the save's read and
 * its write without moving its version. Thrown to undo the save and make it again step by step.
 */
class StoredOtherwise extends Error {}

const HEAD_HASH = '__steadfast_head_hash';

export class PersistenceManager {
  readonly #statements: SaveStatements;
  /**
   * PostgreSQL without hooks: an update and its log entry go in one statement (see
   * save-statements.ts). Hooks run between the steps of a save, so with hooks each step is a
   * statement of its own, and on SQLite they are anyway.
   */
  readonly #logInWrite: boolean;
  /**
   * With hooks, a save reads its row back in a statement of its own after `afterWrite`, as a hook
   * may expect; without, it takes the row its write answered when it could (save-statements.ts).
   */
  readonly #readBackAlways: boolean;
  readonly #registry: ModelRegistry;
  readonly #context: TransactionContext;
  readonly #tracker: ChangeTracker;
  readonly #clock: Clock;
  readonly #hooks: PersistenceHooks;
  readonly #logger: PersistenceLogger | undefined;
  readonly #committer: GroupCommitter | undefined;
  readonly #batcher: SaveBatcher<QueuedSave, SaveResult> | undefined;
  readonly #authorizer: Authorizer | undefined;

  constructor(options: PersistenceManagerOptions) {
    this.#statements = new SaveStatements(options.dialect);
    this.#logInWrite = options.dialect === 'postgres' && !options.hooks;
    this.#readBackAlways = Boolean(options.hooks);
    this.#registry = options.registry;
    this.#context = options.context;
    this.#tracker = options.tracker;
    this.#clock = options.clock;
    this.#hooks = options.hooks ?? {};
    this.#logger = options.logger;
    this.#committer = options.committer;
    this.#authorizer = options.authorizer?.enabled ? options.authorizer : undefined;
    if (options.batchSaves && !options.hooks) {
      this.#batcher = new SaveBatcher<QueuedSave, SaveResult>({
        context: this.#context,
        maxInFlight: options.batchesInFlight,
        onBatch: options.onSaveBatch,
        recordOf: (save) => save.record,
        runBatch: (saves) => this.#saveBatch(saves),
        runAlone: (save) => this.#context.runAs(save.actor, () => this.#saveAlone(save, false)),
      });
    }
  }

  /** Resolves when every save submitted outside a transaction has settled (for a graceful shutdown). */
  async idle(): Promise<void> {
    await this.#batcher?.idle();
    await this.#committer?.idle();
  }

  /**
   * Inserts or updates one record (update when the values carry its primary key and it exists),
   * verified and logged, in one transaction.
   *
   * @example const { record } = await manager.saveWithPersistence('Product', { id: 42, version: 3, price: '12.00' })
   */
  async saveWithPersistence(
    model: string,
    values: RecordValues,
    options: SaveOptions = {},
  ): Promise<SaveResult> {
    if (this.#batcher && !this.#context.inTransaction()) {
      const definition = this.#registry.get(model);
      const record = recordOf(definition, values);
      const save = { model, values, options, actor: this.#context.actor(), record };
      try {
        return await this.#batcher.submit(save);
      } catch (error) {
        throw asPersistenceError(error);
      }
    }
    return this.#saveAlone({ model, values, options });
  }

  /**
   * One save on the one-save path. `shareCommit: false` (the batcher's lone save, already alone
   * in its turn) skips the group committer, which would only wait another turn for company.
   */
  async #saveAlone(
    save: Pick<QueuedSave, 'model' | 'values' | 'options'>,
    shareCommit = true,
    authorized = false,
  ): Promise<SaveResult> {
    const [result] = await this.#saveMany(save.model, [save.values], save.options, shareCommit, authorized);
    if (!result) throw new Error('saveMany returned no result');
    return result;
  }

  /**
   * A batch of saves of distinct records, in the batcher's open transaction. Updates of existing
   * records share the reads, the verification and the log insert; any other save (a create, a
   * record not found) runs in its own savepoint inside the same transaction.
   */
  async #saveBatch(saves: readonly QueuedSave[]): Promise<Array<BatchOutcome<SaveResult>>> {
    const executor = this.#context.executor();
    const now = this.#clock.now().toISOString();
    const outcomes: Array<BatchOutcome<SaveResult> | undefined> = new Array(saves.length);
    const alone: number[] = [];
    const updates: BatchedUpdate[] = [];
    const parsed = saves.map((save, index) => {
      try {
        const definition = this.#registry.get(save.model);
        return { definition, ...this.#splitValues(definition, save.values, save.options) };
      } catch (error) {
        outcomes[index] = { ok: false, error };
        return undefined;
      }
    });
    const named = parsed.flatMap((entry) =>
      entry?.key === undefined ? [] : [{ definition: entry.definition, key: entry.key }],
    );
    const currentRows = new Map<
      ModelDefinition,
      Map<string, { row: StoredRecord; headHash: string | null }>
    >();
    for (const [definition, keys] of groupKeys(named)) {
      currentRows.set(definition, await this.#readManyWithHead(executor, definition, keys));
    }
    const authorizer = this.#authorizer;
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
        const plan = this.#planUpdate(entry.definition, entry.key, current.row, entry.fields, {
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
      const saved = this.#logInWrite
        ? await this.#writeAndLogUpdates(executor, ordered)
        : await this.#writeUpdatesThenLog(executor, ordered);
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
        if (this.#logger) {
          const model = update.definition.name;
          this.#context.onCommit(() => this.#logger?.info(`[PERSISTENCE] Successfully saved ${model}`));
        }
      });
    }

    for (const index of alone) {
      const save = saves[index] as QueuedSave;
      try {
        // Inside the batch's transaction: a savepoint of its own, so its failure undoes only itself.
        // Authorized with the rest of the batch, above.
        const value = await this.#context.runAs(save.actor, () => this.#saveAlone(save, true, true));
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
   * Saves many records of one model in one transaction, all or none; one log entry per changed
   * record, written in one multi-row insert.
   */
  saveMany(model: string, items: readonly RecordValues[], options: SaveOptions = {}): Promise<SaveResult[]> {
    return this.#saveMany(model, items, options, true);
  }

  /** `authorized`: the batch this save belongs to has asked the `authorize` hook already. */
  async #saveMany(
    model: string,
    items: readonly RecordValues[],
    options: SaveOptions,
    shareCommit: boolean,
    authorized = false,
  ): Promise<SaveResult[]> {
    const definition = this.#registry.get(model);
    const saveAll = (logInWrite: boolean) =>
      this.#run(async () => {
        const results: SaveResult[] = [];
        // Changes not logged yet (creates, and every change saved step by step): one insert for all.
        let unlogged: Array<{ readonly index: number; readonly change: TrackedChange }> = [];
        const logUnlogged = async () => {
          if (unlogged.length === 0) return;
          const changes = unlogged.map((item) => item.change);
          await this.#hooks.beforeLog?.(changes);
          const entries = await this.#tracker.trackChanges(changes);
          unlogged.forEach(({ index }, n) => {
            results[index] = { ...(results[index] as SaveResult), entry: entries[n] ?? null };
          });
          unlogged = [];
        };
        for (const values of items) {
          const saved = await this.#saveOne(
            definition,
            values,
            options,
            logInWrite ? logUnlogged : undefined,
            authorized,
          );
          if (saved.change) unlogged.push({ index: results.length, change: saved.change });
          results.push({ ...saved.result, entry: saved.entry ?? null });
        }
        await logUnlogged();
        return results;
      }, shareCommit);
    let results: SaveResult[];
    try {
      results = await saveAll(this.#logInWrite);
    } catch (error) {
      if (!(error instanceof StoredOtherwise)) throw error;
      // Undone with the rest of its transaction (or savepoint); step by step, the entry then
      // describes the row as read back.
      results = await saveAll(false);
    }
    if (this.#logger && results.some((r) => r.changed)) {
      this.#context.onCommit(() => this.#logger?.info(`[PERSISTENCE] Successfully saved ${model}`));
    }
    return results;
  }

  /**
   * Deletes one record, logging its last state, in one transaction.
   *
   * @example await manager.delete('Product', 42, { expectedVersion: 5 })
   */
  async delete(
    model: string,
    id: string | number,
    options: { expectedVersion?: number } = {},
  ): Promise<DeleteResult> {
    const definition = this.#registry.get(model);
    assertStorableText(definition.primaryKey, id);
    const objectId = String(id);
    const result = await this.#run(async () => {
      const executor = this.#context.executor();
      const current = await this.#statements.readWithHead(executor, definition, id);
      if (!current) throw new NotFoundError(`${model} ${objectId} does not exist`);
      if (this.#authorizer)
        await this.#authorizer.require({
          actor: this.#context.actor(),
          action: 'delete',
          model,
          objectId,
          record: current.row,
          values: undefined,
        });
      const version = Number(current.row.version);
      if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
        throw new ConflictError(model, objectId, options.expectedVersion, version, current.row);
      }
      const step = { model, objectId, values: {} };
      await this.#hooks.beforeWrite?.(step);
      const deleted = await executor
        .deleteFrom(definition.table)
        .where(definition.primaryKey, '=', id)
        .where('version', '=', version)
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) throw await this.#conflict(executor, definition, id, version);
      await this.#hooks.afterWrite?.(step);
      const readBack = await executor
        .selectFrom(definition.table)
        .select(definition.primaryKey)
        .where(definition.primaryKey, '=', id)
        .executeTakeFirst();
      if (readBack)
        throw new VerificationError(model, objectId, definition.primaryKey, 'deleted', 'still present');
      await this.#hooks.afterVerify?.(step);
      const change: TrackedChange = {
        model,
        objectId,
        action: 'delete',
        before: pickTracked(definition, current.row),
        after: null,
        version: version + 1,
        secretFields: definition.secretFields,
        prevHash: current.headHash,
      };
      await this.#hooks.beforeLog?.([change]);
      const entry = await this.#tracker.trackChange(change);
      return { record: current.row, entry };
    });
    this.#logger &&
      this.#context.onCommit(() => this.#logger?.info(`[PERSISTENCE] Successfully deleted ${model}`));
    return result;
  }

  /**
   * One save in the open transaction. With `logEarlier`, an update writes its log entry in the
   * same statement as the row (PostgreSQL), after calling `logEarlier` so that the entries of the
   * saves before it are written first: ids in the order of the saves, and a second change of one
   * record chains to the first's entry. Without it (or for a create) the change is returned to log.
   */
  async #saveOne(
    definition: ModelDefinition,
    values: RecordValues,
    options: SaveOptions,
    logEarlier?: () => Promise<void>,
    authorized = false,
  ): Promise<PendingSave> {
    const executor = this.#context.executor();
    const { key, expectedVersion, fields } = this.#splitValues(definition, values, options);
    const model = definition.name;
    const current =
      key === undefined ? undefined : await this.#statements.readWithHead(executor, definition, key);
    const now = this.#clock.now().toISOString();
    if (this.#authorizer && !authorized && !isMissing(definition, key, current, options)) {
      // Before any check that would tell the caller more (a version, a validation message), and
      // before anything is written.
      await this.#authorizer.require(
        saveRequest(this.#context.actor(), definition, key, current?.row, fields, options),
      );
    }

    if (!current) {
      if (isMissing(definition, key, current, options)) {
        throw new NotFoundError(`${model} ${String(key)} does not exist`);
      }
      if (expectedVersion !== undefined && expectedVersion !== 0) {
        throw new ConflictError(model, String(key), expectedVersion, undefined, undefined);
      }
      const validated = this.#validate(definition, fields, 'create');
      // A record re-created under an old key (a reverted delete) continues that key's chain.
      const head = key === undefined ? undefined : await this.#headOf(executor, definition, String(key));
      const version = (head?.version ?? 0) + 1;
      const row: Record<string, unknown> = { ...validated, version };
      if (key !== undefined) row[definition.primaryKey] = key;
      if (definition.createdAtColumn) row[definition.createdAtColumn] = now;
      if (definition.updatedAtColumn) row[definition.updatedAtColumn] = now;
      const step = { model, objectId: key === undefined ? undefined : String(key), values: row };
      await this.#hooks.beforeWrite?.(step);
      const inserted = await this.#mapWriteError(definition, () =>
        this.#statements.insert(executor, definition, row),
      );
      const objectId = String(inserted.key);
      await this.#hooks.afterWrite?.({ ...step, objectId });
      const stored =
        (this.#readBackAlways ? undefined : inserted.row) ??
        (await this.#statements.readBack(executor, definition, inserted.key));
      const record = checkReadBack(definition, inserted.key, stored, row);
      await this.#hooks.afterVerify?.({ ...step, objectId });
      return {
        result: { record, created: true, changed: true, version },
        change: {
          model,
          objectId,
          action: options.action ?? 'create',
          before: null,
          after: pickTracked(definition, record),
          version,
          secretFields: definition.secretFields,
          prevHash: head?.hash ?? null,
        },
      };
    }

    const objectId = String(key);
    const plan = this.#planUpdate(definition, key as string | number, current.row, fields, {
      expectedVersion,
      options,
      now,
    });
    if (plan.kind === 'unchanged') return { result: plan.result, change: null };
    const { set, currentVersion, version } = plan;
    const step = { model, objectId, values: set };
    await this.#hooks.beforeWrite?.(step);
    const change: TrackedChange = {
      model,
      objectId,
      action: options.action ?? 'update',
      before: pickTracked(definition, current.row),
      after: null,
      version,
      secretFields: definition.secretFields,
      prevHash: current.headHash,
    };

    if (logEarlier) {
      await logEarlier();
      // The entry describes the row the update is to store; the statement stores both or neither,
      // and the row it stored is checked against that description before anything commits.
      const after = pickTracked(definition, expectedRow(current.row, set));
      const prepared = await this.#tracker.prepareEntries([{ ...change, after }]);
      const written = await this.#mapWriteError(definition, () =>
        this.#statements.update(executor, definition, key, currentVersion, set, prepared.rows[0]),
      );
      // Another writer committed between our read and our write (pg, or another process).
      if (!written) throw await this.#conflict(executor, definition, key, currentVersion);
      const stored = written.row ?? (await this.#statements.readBack(executor, definition, key));
      const record = checkReadBack(definition, key, stored, set);
      if (!sameTracked(definition, record, after)) throw new StoredOtherwise();
      return {
        result: { record, created: false, changed: true, version },
        change: null,
        entry: prepared.complete([written.entryId])[0],
      };
    }

    const written = await this.#mapWriteError(definition, () =>
      this.#statements.update(executor, definition, key, currentVersion, set, undefined),
    );
    if (!written) throw await this.#conflict(executor, definition, key, currentVersion);
    await this.#hooks.afterWrite?.(step);
    const stored =
      (this.#readBackAlways ? undefined : written.row) ??
      (await this.#statements.readBack(executor, definition, key));
    const record = checkReadBack(definition, key, stored, set);
    await this.#hooks.afterVerify?.(step);
    return {
      result: { record, created: false, changed: true, version },
      change: { ...change, after: pickTracked(definition, record) },
    };
  }

  /**
   * PostgreSQL: writes a batch's updates and their log entries, each update only if its record is
   * still at the version read; one statement per set of columns, so a round trip per shape, not
   * per save. Each entry describes the row its update is to store, and the rows stored are checked
   * against them before anything commits. Throws BatchAbandoned when any record moved since the
   * batch read it, and any error of a save (a verification failure) to abandon the batch.
   */
  async #writeAndLogUpdates(executor: Executor, updates: readonly BatchedUpdate[]): Promise<BatchedSave[]> {
    const expected = updates.map(({ definition, current, plan }) =>
      pickTracked(definition, expectedRow(current.row, plan.set)),
    );
    const prepared = await this.#tracker.prepareEntries(
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
      const written = await this.#statements.updateManyAndLog(executor, definition, columns, rows, entries);
      if (written.length !== group.length) throw new BatchAbandoned('a record moved during the batch');
      for (const row of written) stored.set(recordKey(definition, row.key), row);
    }
    const rewritten = updates.filter(({ definition, key }) => !stored.get(recordKey(definition, key))?.row);
    const readBacks = await this.#readBackMany(executor, rewritten);
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
      if (!sameTracked(definition, record, expected[n] as Record<string, unknown>))
        throw new StoredOtherwise();
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
  async #writeUpdatesThenLog(executor: Executor, updates: readonly BatchedUpdate[]): Promise<BatchedSave[]> {
    const stored = new Map<string, StoredRecord | undefined>();
    for (const { definition, key, plan } of updates) {
      const written = await this.#statements.update(
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
    const readBacks = await this.#readBackMany(
      executor,
      updates.filter(({ definition, key }) => !stored.get(recordKey(definition, key))),
    );
    // Throws a VerificationError; the batch is abandoned and the save meets it again alone.
    const records = updates.map(({ definition, key, plan }) => {
      const name = recordKey(definition, key);
      return checkReadBack(definition, key, stored.get(name) ?? readBacks.get(name), plan.set);
    });
    const entries = await this.#tracker.trackChanges(
      updates.map((update, n) =>
        changeOfUpdate(update, pickTracked(update.definition, records[n] as StoredRecord)),
      ),
    );
    return records.map((record, n) => ({ record, entry: entries[n] }));
  }

  /** The rows of `updates` as read back now, one query per model, by record key. */
  async #readBackMany(
    executor: Executor,
    updates: readonly BatchedUpdate[],
  ): Promise<Map<string, StoredRecord>> {
    const readBacks = new Map<string, StoredRecord>();
    for (const [definition, keys] of groupKeys(updates)) {
      for (const row of await this.#readMany(executor, definition, keys)) {
        readBacks.set(recordKey(definition, row[definition.primaryKey]), row);
      }
    }
    return readBacks;
  }

  /** Checks the expected version, validates, and decides what an update of `current` writes. */
  #planUpdate(
    definition: ModelDefinition,
    key: string | number,
    current: StoredRecord,
    fields: RecordValues,
    at: { readonly expectedVersion: number | undefined; readonly options: SaveOptions; readonly now: string },
  ): UpdatePlan {
    const objectId = String(key);
    const currentVersion = Number(current.version);
    if (at.expectedVersion !== undefined && at.expectedVersion !== currentVersion) {
      throw new ConflictError(definition.name, objectId, at.expectedVersion, currentVersion, current);
    }
    const validated = this.#validate(definition, fields, 'update');
    const changedFields = Object.entries(validated).filter(
      ([field, value]) => !sameValue(normalise(current[field]), normalise(value)),
    );
    if (changedFields.length === 0 && at.options.action !== 'revert') {
      return {
        kind: 'unchanged',
        result: { record: current, created: false, changed: false, version: currentVersion },
      };
    }
    const version = currentVersion + 1;
    const set: Record<string, unknown> = { ...Object.fromEntries(changedFields), version };
    if (definition.updatedAtColumn) set[definition.updatedAtColumn] = at.now;
    return { kind: 'write', set, currentVersion, version };
  }

  /** Many records of one model with their chain heads, in one query, by key text. */
  async #readManyWithHead(
    executor: Executor,
    definition: ModelDefinition,
    keys: ReadonlyArray<string | number>,
  ) {
    const keyText = sql<string>`cast(${sql.ref(`${definition.table}.${definition.primaryKey}`)} as text)`;
    const rows = (await executor
      .selectFrom(definition.table)
      .selectAll(definition.table)
      .select(headHashOf(definition, keyText))
      .where(definition.primaryKey, 'in', keys)
      .execute()) as Array<Record<string, unknown>>;
    const byKey = new Map<string, { row: StoredRecord; headHash: string | null }>();
    for (const row of rows) {
      const { [HEAD_HASH]: headHash, ...rest } = row;
      byKey.set(String(rest[definition.primaryKey]), {
        row: rest as StoredRecord,
        headHash: (headHash as string | null | undefined) ?? null,
      });
    }
    return byKey;
  }

  async #readMany(executor: Executor, definition: ModelDefinition, keys: ReadonlyArray<string | number>) {
    return (await executor
      .selectFrom(definition.table)
      .selectAll()
      .where(definition.primaryKey, 'in', keys)
      .execute()) as StoredRecord[];
  }

  /** Runs `fn` in the ambient transaction (through a savepoint) or a new (shared) one; maps outages. */
  async #run<T>(fn: () => Promise<T>, shareCommit = true): Promise<T> {
    try {
      if (shareCommit && this.#committer && !this.#context.inTransaction()) {
        return await this.#committer.submit(this.#context.actor(), fn);
      }
      return await this.#context.withTransaction(fn);
    } catch (error) {
      throw asPersistenceError(error);
    }
  }

  #splitValues(definition: ModelDefinition, values: RecordValues, options: SaveOptions) {
    if (values === null || typeof values !== 'object' || Array.isArray(values)) {
      throw new ValidationError(`${definition.name} values must be an object`);
    }
    const { [definition.primaryKey]: rawKey, version: rawVersion, ...fields } = values;
    const key = rawKey === undefined || rawKey === null || rawKey === '' ? undefined : rawKey;
    if (key !== undefined && typeof key !== 'string' && typeof key !== 'number') {
      throw new ValidationError(
        `${definition.primaryKey} must be a string or a number`,
        definition.primaryKey,
      );
    }
    assertStorableText(definition.primaryKey, key);
    let expectedVersion = options.expectedVersion;
    if (
      expectedVersion === undefined &&
      rawVersion !== undefined &&
      rawVersion !== null &&
      rawVersion !== ''
    ) {
      const parsed = Number(rawVersion);
      if (!Number.isInteger(parsed) || parsed < 0)
        throw new ValidationError('version must be a whole number', 'version');
      expectedVersion = parsed;
    }
    return { key: key as string | number | undefined, expectedVersion, fields };
  }

  #validate(
    definition: ModelDefinition,
    fields: RecordValues,
    mode: 'create' | 'update',
  ): Record<string, unknown> {
    return validateModelValues(definition, fields, mode);
  }

  async #headOf(executor: Executor, definition: ModelDefinition, objectId: string) {
    const head = (await executor
      .selectFrom('steadfast_activity_log')
      .select(['hash', 'version'])
      .where('model', '=', definition.name)
      .where('object_id', '=', objectId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst()) as { hash: string; version: number } | undefined;
    return head ? { hash: head.hash, version: Number(head.version) } : undefined;
  }

  async #conflict(executor: Executor, definition: ModelDefinition, key: unknown, readVersion: number) {
    const now = (await executor
      .selectFrom(definition.table)
      .selectAll()
      .where(definition.primaryKey, '=', key)
      .executeTakeFirst()) as StoredRecord | undefined;
    return new ConflictError(
      definition.name,
      String(key),
      readVersion,
      now ? Number(now.version) : undefined,
      now,
    );
  }

  /** Turns constraint violations into ValidationErrors naming the field. */
  async #mapWriteError<T>(definition: ModelDefinition, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      const info = describeConstraintViolation(error);
      if (info) throw new ValidationError(`${definition.name}: ${info.message}`, info.field);
      throw error;
    }
  }
}

// Building a zod schema costs more than using it: make each model's partial (update) schema once.
const partialSchemas = new WeakMap<z.ZodObject, z.ZodObject>();
/**
 * The values as a save would write them: only the model's fields, through its schema (whole for a
 * create, only the fields given for an update), storable by both engines. Throws ValidationError.
 */
export function validateModelValues(
  definition: ModelDefinition,
  fields: RecordValues,
  mode: 'create' | 'update',
): Record<string, unknown> {
  const allowed = definition.schema ? Object.keys(definition.schema.shape) : definition.trackedFields;
  for (const field of Object.keys(fields)) {
    if (!allowed.includes(field))
      throw new ValidationError(`${definition.name} has no field "${field}"`, field);
  }
  let values: Record<string, unknown> = { ...fields };
  if (definition.schema) {
    const schema = mode === 'create' ? definition.schema : partialSchemaOf(definition.schema);
    const parsed = schema.safeParse(fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join('.') || undefined;
      throw new ValidationError(`${field ?? definition.name}: ${issue?.message ?? 'invalid'}`, field);
    }
    values = parsed.data as Record<string, unknown>;
  }
  for (const [field, value] of Object.entries(values)) assertStorableText(field, value);
  return values;
}

function partialSchemaOf(schema: z.ZodObject): z.ZodObject {
  let partial = partialSchemas.get(schema);
  if (!partial) {
    partial = schema.partial();
    partialSchemas.set(schema, partial);
  }
  return partial;
}

/** The hash of the newest log entry of the record whose id (as text) is `objectId`, as a column. */
function headHashOf(definition: ModelDefinition, objectId: string | RawBuilder<string>) {
  return (eb: ExpressionBuilder<Database, 'steadfast_activity_log'>) =>
    eb
      .selectFrom('steadfast_activity_log')
      .select('hash')
      .where('model', '=', definition.name)
      .where('object_id', '=', objectId)
      .orderBy('id', 'desc')
      .limit(1)
      .as(HEAD_HASH);
}

/** The row read back after a write, checked column by column against what was written. */
function checkReadBack(
  definition: ModelDefinition,
  key: unknown,
  readBack: StoredRecord | undefined,
  written: RecordValues,
): StoredRecord {
  if (!readBack) {
    throw new VerificationError(definition.name, String(key), definition.primaryKey, key, 'no row');
  }
  for (const [field, value] of Object.entries(written)) {
    const actual = normalise(readBack[field]);
    const expected = normalise(value);
    if (!sameValue(actual, expected) && !sameScalar(actual, expected)) {
      throw new VerificationError(definition.name, String(key), field, expected, actual);
    }
  }
  return readBack;
}

/** Database outages become StorageUnavailableError; our own errors pass as they are. */
function asPersistenceError(error: unknown): unknown {
  if (error instanceof PersistenceError) return error;
  if (isStorageUnavailable(error)) {
    return new StorageUnavailableError('the database is unavailable', { cause: error });
  }
  return error;
}

/**
 * A save naming a record of a generated key that does not exist: answered NotFoundError, it would
 * write nothing (a revert re-creates a deleted record, so it is not missing).
 */
function isMissing(
  definition: ModelDefinition,
  key: string | number | undefined,
  current: unknown,
  options: SaveOptions,
): boolean {
  return !current && key !== undefined && definition.generatedKey && options.action !== 'revert';
}

/** What the `authorize` hook is asked about a save. */
function saveRequest(
  actor: Actor,
  definition: ModelDefinition,
  key: string | number | undefined,
  current: StoredRecord | undefined,
  fields: RecordValues,
  options: SaveOptions,
): AuthorizeRequest {
  return {
    actor,
    action: options.action === 'revert' ? 'revert' : current ? 'update' : 'create',
    model: definition.name,
    objectId: key === undefined ? undefined : String(key),
    record: current,
    values: fields,
  };
}

/** The record a save's values name, for keeping two saves of one record out of one batch. */
function recordOf(definition: ModelDefinition, values: RecordValues): string | undefined {
  if (values === null || typeof values !== 'object') return undefined;
  const key = Object.hasOwn(values, definition.primaryKey) ? values[definition.primaryKey] : undefined;
  return key === undefined || key === null || key === '' ? undefined : recordKey(definition, key);
}

/** One record's name across models: `Model\0key`. */
function recordKey(definition: ModelDefinition, key: unknown): string {
  return `${definition.name}\u0000${String(key)}`;
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

/**
 * The row an update of `current` to `set` is to store, each value in the form the driver reads its
 * column in: a number written to a column read as text (int8 on a pool that parses it as text,
 * numeric) is expected back as text, so that its entry, written before the row is read, logs what
 * a read-back would have logged.
 */
function expectedRow(current: RecordValues, set: RecordValues): Record<string, unknown> {
  const row: Record<string, unknown> = { ...current };
  for (const [field, value] of Object.entries(set)) {
    const asRead =
      typeof current[field] === 'string' && (typeof value === 'number' || typeof value === 'bigint');
    row[field] = asRead ? String(value) : value;
  }
  return row;
}

/**
 * Whether the tracked fields of `row` are exactly those of `tracked` (as pickTracked gives them):
 * an entry written before its row was read back logs what a read-back would have logged.
 */
function sameTracked(definition: ModelDefinition, row: RecordValues, tracked: RecordValues): boolean {
  return definition.trackedFields.every((field) => sameValue(normalise(row[field]), tracked[field]));
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

function pickTracked(definition: ModelDefinition, row: RecordValues): Record<string, unknown> {
  const tracked: Record<string, unknown> = {};
  for (const field of definition.trackedFields) tracked[field] = normalise(row[field]);
  return tracked;
}

/** 1 and "1" read back alike from some drivers; the text must still match exactly. */
function sameScalar(a: unknown, b: unknown): boolean {
  const scalar = (v: unknown) => typeof v === 'number' || typeof v === 'string';
  return scalar(a) && scalar(b) && String(a) === String(b);
}

/**
 * Recognises unique / not-null / check violations from either engine. Driver errors carry a code
 * but name the column only in their text, so this reads the text, at this one boundary.
 */
function describeConstraintViolation(error: unknown): { message: string; field?: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = String((error as { code?: unknown }).code ?? '');
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const field = /: \w+\.(\w+)/.exec(error.message)?.[1];
    return { message: `${field ?? 'a unique field'} is already taken`, field };
  }
  if (code === '23505') {
    const detail = String((error as { detail?: unknown }).detail ?? '');
    const field = /Key \((\w+)\)/.exec(detail)?.[1];
    return { message: `${field ?? 'a unique field'} is already taken`, field };
  }
  if (code === 'SQLITE_CONSTRAINT_NOTNULL' || code === '23502') {
    const field =
      /: \w+\.(\w+)/.exec(error.message)?.[1] ??
      String((error as { column?: unknown }).column ?? '') ??
      undefined;
    return { message: `${field || 'a field'} is required`, field: field || undefined };
  }
  return undefined;
}
