/**
 * `createPersistence({ db })`: the persistence layer for one database, as one object whose
 * functions are bound to it: `autoSave`, `autoSaveBulk`, `autoDelete`, `revert`, the manager,
 * the change tracker, the ActivityLog and the transaction context.
 */
import type { Kysely } from 'kysely';
import { type DialectName, dialectOf } from '../db/dialect-name.js';
import { libraryKysely } from '../db/library-kysely.js';
import type { Database } from '../db/schema.js';
import type { ActivityEntry } from './activity-entry.js';
import { ActivityLog } from './activity-log.js';
import { type Authorize, Authorizer } from './authorize.js';
import { ChangeTracker } from './change-tracker.js';
import { type Clock, systemClock } from './clock.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { GroupCommitter } from './group-commit.js';
import { type ModelDefinition, ModelRegistry, REDACTED } from './model-registry.js';
import {
  type DeleteResult,
  type PersistenceHooks,
  type PersistenceLogger,
  PersistenceManager,
  type RecordValues,
  type SaveOptions,
  type SaveResult,
} from './persistence-manager.js';
import { mergeStale, type RecordWithBase, readWithBase, type StaleMerge } from './stale-merge.js';
import { assertStorableText } from './storable-text.js';
import { type Actor, type Executor, TransactionContext } from './transaction-context.js';

export interface PersistenceOptions {
  /**
   * The app's own Kysely instance, over SQLite (better-sqlite3) or PostgreSQL (pg). Steadfast's
   * tables (`steadfast_*`) must exist in it: `migrateSteadfast(db)` or `npx steadfast migrate`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the app's Kysely, typed with the app's own tables.
  readonly db: Kysely<any>;
  /** The app's models: which table, key, version column and fields each record lives in (`defineModel`). */
  readonly models?: readonly ModelDefinition[];
  readonly clock?: Clock;
  readonly hooks?: PersistenceHooks;
  /** Receives `[PERSISTENCE] Successfully saved <Model>` lines; pass Fastify's `log`. */
  readonly logger?: PersistenceLogger;
  /** Errors thrown by `onCommit` callbacks (they never undo the commit). */
  readonly onCommitError?: (error: unknown) => void;
  /**
   * Group commit: concurrent saves outside a transaction share one commit, each in its own
   * savepoint, turning one fsync per save into one per group. Default: on for SQLite, whose one
   * writer serialises saves anyway; off for PostgreSQL, where saves on separate pooled
   * connections run in parallel and the server already merges concurrent WAL flushes.
   */
  readonly groupCommit?: boolean;
  /**
   * Batched saves (default on): concurrent `autoSave` calls made outside a transaction are written
   * together: one transaction, one read, and one write a column shape (the updates with their log
   * entries; what RETURNING answers is the verification, or a read-back on tables with triggers),
   * each save still succeeding or failing alone. Off whenever `hooks` are set.
   */
  readonly batchSaves?: boolean;
  /** Called with each save batch's size and how it ended: `abandoned` means its saves ran again alone. */
  readonly onSaveBatch?: (size: number, outcome: 'committed' | 'abandoned' | 'failed') => void;
  /**
   * Who may do what: asked before every tracked write (each save, batched or not, delete, revert,
   * a sync request's drafts) and every read of the log, with the context's actor. Answer `true` to
   * allow; `false` or `{ refuse: reason }` refuses with a ForbiddenError (403) before anything is
   * written. Default: everything is allowed. See AuthorizeRequest for what it is asked.
   *
   * @example
   * authorize: ({ action, model }) => action === 'read-log' || model === 'Product' || { refuse: 'Products only.' }
   */
  readonly authorize?: Authorize;
  /**
   * Log each refused write to a record (`create`, `update`, `delete`, `revert`) as an entry of its
   * own: model `Refusal`, action `refused`, outside every record's hash chain, written once the
   * refused work has ended. Default true. Refused `sync` and `read-log` requests are not logged
   * (a client retries, a page reloads); a refusal's `record` decides for itself either way.
   */
  readonly recordRefusals?: boolean;
}

export interface RevertOptions {
  /** The version the user saw when they confirmed the revert. */
  readonly expectedVersion?: number;
}

export interface Persistence {
  /**
   * The database it writes to, as Steadfast's own tables type it and its statements run on it: the
   * app's Kysely without the app's plugins (libraryKysely).
   */
  readonly db: Kysely<Database>;
  /** Which engine that is, told once from the Kysely instance. */
  readonly dialect: DialectName;
  readonly registry: ModelRegistry;
  readonly manager: PersistenceManager;
  readonly changeTracker: ChangeTracker;
  readonly activityLog: ActivityLog;
  readonly context: TransactionContext;
  /** Asks the `authorize` option (allows everything without one) and logs its refusals. */
  readonly authorizer: Authorizer;
  /** Insert or update one record, verified and logged. */
  autoSave(model: string, values: RecordValues, options?: SaveOptions): Promise<SaveResult>;
  /** Many records of one model in one transaction, all or none. */
  autoSaveBulk(model: string, items: readonly RecordValues[], options?: SaveOptions): Promise<SaveResult[]>;
  /** Delete one record, logging its last state. */
  autoDelete(
    model: string,
    id: string | number,
    options?: { expectedVersion?: number },
  ): Promise<DeleteResult>;
  /** Restore the record to a logged version, logged as `revert` (asked of `authorize` as `revert`). */
  revert(model: string, id: string | number, toVersion: number, options?: RevertOptions): Promise<SaveResult>;
  /**
   * The record now and as it was at `baseVersion` (rebuilt from the log), with who changed which
   * field since: what a stale form is merged against. Secret fields are left out.
   */
  readWithBase(model: string, id: string | number, baseVersion: number): Promise<RecordWithBase>;
  /**
   * Values submitted from a form loaded at `baseVersion`, merged field by field into the record as
   * it is now (`mergeThreeWay`): the answer to a save that failed with a ConflictError. Save
   * `resolveConflicts(merge, choices)` at `merge.currentVersion`.
   *
   * @example
   * const merge = await persistence.mergeStale('Invoice', 7, submitted, submitted.version)
   * if (merge.conflicts.length === 0)
   *   await persistence.autoSave('Invoice', { ...merge.merged, id: 7, version: merge.currentVersion })
   */
  mergeStale(
    model: string,
    id: string | number,
    values: RecordValues,
    baseVersion: number,
  ): Promise<StaleMerge>;
  /** Run `fn` in one transaction (a savepoint when nested). */
  withTransaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Run `fn` as a named actor (a user id, or a script's name). */
  runAs<T>(actor: Actor | string, fn: () => Promise<T>): Promise<T>;
  /** Run `fn` after the ambient transaction commits. */
  onCommit(fn: () => unknown): void;
  /**
   * The open transaction, or the database, on the app's Kysely with its plugins: for the app's own
   * queries inside `withTransaction`, which commit or roll back with its saves.
   */
  executor(): Executor;
  /** Resolves when every save made outside a transaction has settled: await it before closing the database. */
  idle(): Promise<void>;
}

/**
 * @example
 * const persistence = createPersistence({ db })
 * await persistence.runAs('42', () => persistence.autoSave('Product', { id: 7, version: 3, price: '9.90' }))
 */
export function createPersistence(options: PersistenceOptions): Persistence {
  const clock = options.clock ?? systemClock;
  const context = new TransactionContext(options.db, options.onCommitError);
  const db = libraryKysely(options.db as Kysely<Database>);
  const dialect = dialectOf(db);
  const registry = new ModelRegistry(options.models ?? []);
  const changeTracker = new ChangeTracker(context, clock);
  const isSqlite = dialect === 'sqlite';
  const groupCommit = options.groupCommit ?? isSqlite;
  const committer = groupCommit ? new GroupCommitter({ context }) : undefined;
  const authorizer = new Authorizer({
    authorize: options.authorize,
    recordRefusals: options.recordRefusals,
    context,
    db,
    registry,
    clock,
    onError: options.onCommitError,
  });
  const manager = new PersistenceManager({
    dialect,
    committer,
    batchSaves: options.batchSaves ?? true,
    // SQLite has one writer; PostgreSQL writes batches on several pooled connections at once.
    batchesInFlight: isSqlite ? 1 : 4,
    onSaveBatch: options.onSaveBatch,
    registry,
    context,
    tracker: changeTracker,
    clock,
    hooks: options.hooks,
    logger: options.logger,
    authorizer,
  });
  const activityLog = new ActivityLog(context, registry, authorizer);

  async function revert(
    model: string,
    id: string | number,
    toVersion: number,
    revertOptions: RevertOptions = {},
  ): Promise<SaveResult> {
    const definition = registry.get(model);
    assertStorableText(definition.primaryKey, id);
    if (!Number.isInteger(toVersion) || toVersion < 1)
      throw new ValidationError('version must be a positive whole number', 'version');
    return context.withTransaction(async () => {
      const entry: ActivityEntry | undefined = await activityLog.entryAtVersion(model, String(id), toVersion);
      if (!entry || entry.action === 'delete') {
        throw new NotFoundError(`${model} ${String(id)} has no logged version ${toVersion}`);
      }
      const current = await context
        .executor()
        .selectFrom(definition.table)
        .select('version')
        .where(definition.primaryKey, '=', id)
        .executeTakeFirst();
      if (
        current &&
        revertOptions.expectedVersion !== undefined &&
        Number(current.version) !== revertOptions.expectedVersion
      ) {
        throw new ConflictError(
          model,
          String(id),
          revertOptions.expectedVersion,
          Number(current.version),
          undefined,
        );
      }
      // Secret fields were never logged in clear, so they keep their current value.
      const values: Record<string, unknown> = { [definition.primaryKey]: id };
      for (const [field, value] of Object.entries(entry.snapshot)) {
        if (value !== REDACTED && definition.trackedFields.includes(field)) values[field] = value;
      }
      return manager.saveWithPersistence(model, values, {
        action: 'revert',
        expectedVersion: current ? Number(current.version) : undefined,
      });
    });
  }

  return {
    db,
    dialect,
    registry,
    manager,
    changeTracker,
    activityLog,
    context,
    authorizer,
    autoSave: (model, values, saveOptions) => manager.saveWithPersistence(model, values, saveOptions),
    autoSaveBulk: (model, items, saveOptions) => manager.saveMany(model, items, saveOptions),
    autoDelete: (model, id, deleteOptions) => manager.delete(model, id, deleteOptions),
    revert,
    readWithBase: (model, id, baseVersion) =>
      readWithBase({ registry, context, activityLog, authorizer }, model, id, baseVersion),
    mergeStale: (model, id, values, baseVersion) =>
      mergeStale({ registry, context, activityLog, authorizer }, model, id, values, baseVersion),
    withTransaction: (fn) => context.withTransaction(fn),
    runAs: (actor, fn) => context.runAs(actor, fn),
    onCommit: (fn) => context.onCommit(fn),
    executor: () => context.appExecutor(),
    idle: () => manager.idle(),
  };
}
