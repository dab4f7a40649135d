/**
 * The persistence manager: every change to a tracked record goes through here, inside a
 * transaction (the ambient one when there is one), with an optimistic version check, a
 * verification of the row the database stored and an ActivityLog entry written in the same
 * transaction. Each save and delete asks the `authorize` hook (authorize.ts) once it has read the
 * record and before it writes anything; a batch asks for each of its saves before writing any.
 * Any failure rolls back the record and its log entries together. The statements
 * that do it, and why the row a write returns may stand for a read-back, are in
 * save-statements.ts.
 *
 * This class wires the parts of a save together: the single-save pipeline (single-save.ts),
 * batched saves (batched-saves.ts), record reads (record-reads.ts), model values
 * (model-values.ts) and write errors (write-errors.ts), all handed one SaveServices (save-types.ts).
 */
import type { DialectName } from '../db/dialect-name.js';
import { isStalePreparedStatement } from '../db/prepared-statements.js';
import type { Authorizer } from './authorize.js';
import { type QueuedSave, saveBatch } from './batched-saves.js';
import type { ChangeTracker, TrackedChange } from './change-tracker.js';
import type { Clock } from './clock.js';
import { ConflictError, NotFoundError, VerificationError } from './errors.js';
import type { GroupCommitter } from './group-commit.js';
import type { ModelRegistry } from './model-registry.js';
import { pickTracked, recordOf } from './model-values.js';
import { conflict } from './record-reads.js';
import { SaveBatcher } from './save-batcher.js';
import { SaveStatements } from './save-statements.js';
import type {
  DeleteResult,
  PersistenceHooks,
  PersistenceLogger,
  RecordValues,
  SaveOptions,
  SaveResult,
  SaveServices,
} from './save-types.js';
import { StoredOtherwise, saveOne } from './single-save.js';
import { assertStorableText } from './storable-text.js';
import type { TransactionContext } from './transaction-context.js';
import { asPersistenceError } from './write-errors.js';

export { validateModelValues } from './model-values.js';
export type {
  DeleteResult,
  PersistenceHooks,
  PersistenceLogger,
  RecordValues,
  SaveOptions,
  SaveResult,
  SaveStep,
  StoredRecord,
} from './save-types.js';

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

export class PersistenceManager {
  readonly #services: SaveServices;
  readonly #committer: GroupCommitter | undefined;
  readonly #batcher: SaveBatcher<QueuedSave, SaveResult> | undefined;

  constructor(options: PersistenceManagerOptions) {
    this.#services = {
      statements: new SaveStatements(options.dialect),
      logInWrite: options.dialect === 'postgres' && !options.hooks,
      readBackAlways: Boolean(options.hooks),
      registry: options.registry,
      context: options.context,
      tracker: options.tracker,
      clock: options.clock,
      hooks: options.hooks ?? {},
      logger: options.logger,
      authorizer: options.authorizer?.enabled ? options.authorizer : undefined,
    };
    this.#committer = options.committer;
    if (options.batchSaves && !options.hooks) {
      this.#batcher = new SaveBatcher<QueuedSave, SaveResult>({
        context: this.#services.context,
        maxInFlight: options.batchesInFlight,
        onBatch: options.onSaveBatch,
        recordOf: (save) => save.record,
        runBatch: (saves) => saveBatch(this.#services, saves, (save) => this.#saveAlone(save, true, true)),
        runAlone: (save) => this.#services.context.runAs(save.actor, () => this.#saveAlone(save, false)),
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
    const { registry, context } = this.#services;
    if (this.#batcher && !context.inTransaction()) {
      const definition = registry.get(model);
      const record = recordOf(definition, values);
      const save = { model, values, options, actor: context.actor(), record };
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
    const { registry, context, tracker, hooks, logger } = this.#services;
    const definition = registry.get(model);
    const saveAll = (logInWrite: boolean) =>
      this.#run(async () => {
        const results: SaveResult[] = [];
        // Changes not logged yet (creates, and every change saved step by step): one insert for all.
        let unlogged: Array<{ readonly index: number; readonly change: TrackedChange }> = [];
        const logUnlogged = async () => {
          if (unlogged.length === 0) return;
          const changes = unlogged.map((item) => item.change);
          if (hooks.beforeLog) await hooks.beforeLog(changes);
          const entries = await tracker.trackChanges(changes);
          unlogged.forEach(({ index }, n) => {
            results[index] = { ...(results[index] as SaveResult), entry: entries[n] ?? null };
          });
          unlogged = [];
        };
        for (const values of items) {
          const saved = await saveOne(
            this.#services,
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
      results = await saveAll(this.#services.logInWrite);
    } catch (error) {
      if (!(error instanceof StoredOtherwise)) throw error;
      // Undone with the rest of its transaction (or savepoint); step by step, the entry then
      // describes the row as read back.
      results = await saveAll(false);
    }
    if (logger && results.some((r) => r.changed)) {
      context.onCommit(() => logger.info(`[PERSISTENCE] Successfully saved ${model}`));
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
    const { statements, registry, context, tracker, hooks, logger, authorizer } = this.#services;
    const definition = registry.get(model);
    assertStorableText(definition.primaryKey, id);
    const objectId = String(id);
    const result = await this.#run(async () => {
      const executor = context.executor();
      const current = await statements.readWithHead(executor, definition, id);
      if (!current) throw new NotFoundError(`${model} ${objectId} does not exist`);
      if (authorizer)
        await authorizer.require({
          actor: context.actor(),
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
      if (hooks.beforeWrite) await hooks.beforeWrite(step);
      const deleted = await executor
        .deleteFrom(definition.table)
        .where(definition.primaryKey, '=', id)
        .where('version', '=', version)
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) throw await conflict(executor, definition, id, version);
      if (hooks.afterWrite) await hooks.afterWrite(step);
      const readBack = await executor
        .selectFrom(definition.table)
        .select(definition.primaryKey)
        .where(definition.primaryKey, '=', id)
        .executeTakeFirst();
      if (readBack)
        throw new VerificationError(model, objectId, definition.primaryKey, 'deleted', 'still present');
      if (hooks.afterVerify) await hooks.afterVerify(step);
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
      if (hooks.beforeLog) await hooks.beforeLog([change]);
      const entry = await tracker.trackChange(change);
      return { record: current.row, entry };
    });
    logger && context.onCommit(() => logger.info(`[PERSISTENCE] Successfully deleted ${model}`));
    return result;
  }

  /**
   * Runs `fn` in the ambient transaction (through a savepoint) or a new (shared) one; maps outages.
   * `fn` runs once more when a prepared statement had gone stale under it (prepared-statements.ts):
   * what it wrote was rolled back whole (its own transaction, or its savepoint in the app's), and
   * the statements are prepared afresh.
   */
  async #run<T>(fn: () => Promise<T>, shareCommit = true): Promise<T> {
    const { context } = this.#services;
    const attempt = () =>
      shareCommit && this.#committer && !context.inTransaction()
        ? this.#committer.submit(context.actor(), fn)
        : context.withTransaction(fn);
    try {
      try {
        return await attempt();
      } catch (error) {
        if (isStalePreparedStatement(error)) return await attempt();
        throw error;
      }
    } catch (error) {
      throw asPersistenceError(error);
    }
  }
}
