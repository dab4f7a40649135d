/**
 * The ambient context of a unit of work, carried by AsyncLocalStorage: the open transaction (if
 * any) and who is acting (user id or `system`, request id, IP). A save made anywhere inside
 * `withTransaction(fn)` joins that transaction; nested `withTransaction` calls use savepoints.
 *
 * One context belongs to one database: a transaction of another database is never joined.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Kysely, sql, type Transaction } from 'kysely';
import { libraryKysely } from '../db/library-kysely.js';

/** Who is acting, and from where. Reaches the change tracker without threading arguments. */
export interface Actor {
  /** A user id, or `system` for work no user started. */
  readonly actor: string;
  readonly requestId?: string;
  readonly ip?: string;
}

export const SYSTEM_ACTOR = 'system';

/**
 * A query executor: the root database or the open transaction. Deliberately loosely typed:
 * the persistence manager serves any registered table.
 */
// biome-ignore lint/suspicious/noExplicitAny: models name their tables at run time.
export type Executor = Kysely<any>;

interface OpenTransaction {
  /** The transaction on the app's Kysely, with its plugins: what the app's own queries run on. */
  readonly trx: Transaction<unknown> | Executor;
  /** The same transaction for Steadfast's statements (libraryKysely). */
  readonly own: Executor;
  readonly afterCommit: Array<() => unknown>;
  /** Run once the transaction ended, whichever way; a savepoint rolled back keeps them. */
  readonly afterEnd: Array<() => unknown>;
  savepoints: number;
  /**
   * Set once a scope's transaction committed or rolled back. A frame can outlive its transaction
   * (a request's late hooks still run inside it); it then falls back to the root database instead
   * of querying a finished transaction.
   */
  closed?: boolean;
  /** Serialises savepoint sections: interleaved savepoints of concurrent calls would unwind each other. */
  tail: Promise<unknown>;
}

interface Frame {
  readonly actor?: Actor;
  readonly transaction?: OpenTransaction;
  /** True inside a savepoint section: a nested section runs at once instead of queueing behind itself. */
  readonly inSavepoint?: boolean;
}

export type OnCommitErrorHandler = (error: unknown) => void;

/**
 * A unit of work whose start and end are driven from outside, for hosts that cannot wrap the work
 * in one function (Fastify's hooks: a transaction opens in one hook and ends in another).
 */
export interface Scope {
  /** Whether the scope opened a transaction. */
  readonly transactional: boolean;
  /** True until `commit` or `rollback` settled the transaction (always false without one). */
  readonly open: boolean;
  /**
   * Runs `fn` inside the scope's frame: the actor, and the transaction when there is one. Everything
   * `fn` starts, synchronously or asynchronously, sees that frame. Call it with a callback-style
   * hook's `done` so the rest of the request runs inside.
   */
  enter<T>(fn: () => T): T;
  /** Commits, then runs the `onCommit` callbacks. Idempotent; a no-op without a transaction. */
  commit(): Promise<void>;
  /** Rolls back and drops the `onCommit` callbacks. Idempotent; a no-op without a transaction. */
  rollback(): Promise<void>;
}

export class TransactionContext {
  readonly #storage = new AsyncLocalStorage<Frame>();
  /** `db` as Steadfast's own statements run on it (libraryKysely). */
  readonly #own: Executor;

  /** `db`: the app's Kysely, plugins and all; transactions open on it. */
  constructor(
    private readonly db: Executor,
    private readonly onCommitError: OnCommitErrorHandler = () => {},
  ) {
    this.#own = libraryKysely(db);
  }

  /**
   * The open transaction, or the root database when there is none, for Steadfast's own
   * statements: without the app's plugins (libraryKysely).
   */
  executor(): Executor {
    return this.#openTransaction()?.own ?? this.#own;
  }

  /** The open transaction, or the root database when there is none, as the app's Kysely (its plugins kept). */
  appExecutor(): Executor {
    return (this.#openTransaction()?.trx as Executor | undefined) ?? this.db;
  }

  inTransaction(): boolean {
    return this.#openTransaction() !== undefined;
  }

  #openTransaction(): OpenTransaction | undefined {
    const transaction = this.#storage.getStore()?.transaction;
    return transaction && !transaction.closed ? transaction : undefined;
  }

  /**
   * Opens a scope acting as `actor`, with a new transaction when `transaction` is true. The caller
   * must end it with `commit()` or `rollback()`. Opened inside another transaction, a transactional
   * scope would deadlock SQLite's single connection, so that is refused.
   *
   * @example
   * const scope = await context.openScope({ actor: '42', requestId: 'req-1' }, { transaction: true })
   * scope.enter(() => handle(request)) // saves inside join the transaction
   * await (ok ? scope.commit() : scope.rollback())
   */
  async openScope(actor: Actor, options: { readonly transaction?: boolean } = {}): Promise<Scope> {
    const parent = this.#storage.getStore();
    if (!options.transaction) {
      const frame: Frame = { ...parent, actor };
      return {
        transactional: false,
        open: false,
        enter: (fn) => this.#storage.run(frame, fn),
        commit: async () => {},
        rollback: async () => {},
      };
    }
    if (this.#openTransaction()) throw new Error('openScope: a transaction is already open in this context');
    const trx = await this.db.startTransaction().execute();
    const transaction: OpenTransaction = {
      trx,
      own: libraryKysely(trx),
      afterCommit: [],
      afterEnd: [],
      savepoints: 0,
      tail: Promise.resolve(),
    };
    const frame: Frame = { actor, transaction };
    let settled: Promise<void> | undefined;
    const runAfterEnd = () => this.#runAfterEnd(transaction);
    const afterCommitted = () => this.#afterCommitted(transaction);
    return {
      transactional: true,
      get open() {
        return settled === undefined;
      },
      enter: (fn) => this.#storage.run(frame, fn),
      commit() {
        settled ??= (async () => {
          transaction.closed = true;
          try {
            await trx.commit().execute();
          } catch (error) {
            // A failed COMMIT can leave SQLite's one connection inside the transaction; end it.
            await trx
              .rollback()
              .execute()
              .catch(() => {});
            await runAfterEnd();
            throw error;
          }
          await afterCommitted();
        })();
        return settled;
      },
      rollback() {
        settled ??= (async () => {
          transaction.closed = true;
          transaction.afterCommit.length = 0;
          try {
            await trx.rollback().execute();
          } finally {
            await runAfterEnd();
          }
        })();
        return settled;
      },
    };
  }

  /** The acting user; `system` when nobody named one. */
  actor(): Actor {
    return this.#storage.getStore()?.actor ?? { actor: SYSTEM_ACTOR };
  }

  /**
   * Runs `fn` as `actor` (a user id, or a name for a script or job): every save inside it is
   * attributed to them.
   *
   * @example await persistence.runAs({ actor: 'nightly-import' }, () => autoSave('Product', row))
   */
  runAs<T>(actor: Actor | string, fn: () => Promise<T>): Promise<T> {
    const resolved = typeof actor === 'string' ? { actor } : actor;
    return this.#storage.run({ ...this.#storage.getStore(), actor: resolved }, fn);
  }

  /**
   * Runs `fn` in a transaction: the ambient one through a savepoint when there is one, else a new
   * one that commits when `fn` resolves and rolls back when it throws.
   */
  async withTransaction<T>(fn: () => Promise<T>): Promise<T> {
    const frame = this.#storage.getStore();
    const open = this.#openTransaction();
    if (frame && open) return this.#withSavepoint(frame, open, fn);

    return this.#withNewTransaction(fn);
  }

  /**
   * `fn` in a transaction of its own, through Kysely's callback transaction rather than a scope's
   * ControlledTransaction (which a transaction begun in one function and ended in another needs):
   * about 15 µs less CPU per transaction, and a lone save is one. It ends as a scope's does:
   * closed to late frames before COMMIT; rolled back when `fn` throws or COMMIT fails (Kysely
   * rolls back in both cases, so SQLite's one connection is never left inside a transaction);
   * `fn`'s own error reported even when the rollback fails too; the onCommit callbacks after the
   * commit, the afterEnd ones after either end.
   */
  async #withNewTransaction<T>(fn: () => Promise<T>): Promise<T> {
    const actor = this.actor();
    let transaction: OpenTransaction | undefined;
    let thrown: { readonly error: unknown } | undefined;
    let result: T;
    try {
      result = await this.db.transaction().execute(async (trx) => {
        const open: OpenTransaction = {
          trx,
          own: libraryKysely(trx),
          afterCommit: [],
          afterEnd: [],
          savepoints: 0,
          tail: Promise.resolve(),
        };
        transaction = open;
        try {
          return await this.#storage.run({ actor, transaction: open }, fn);
        } catch (error) {
          thrown = { error };
          throw error;
        } finally {
          open.closed = true;
        }
      });
    } catch (error) {
      if (transaction) {
        transaction.afterCommit.length = 0;
        await this.#runAfterEnd(transaction);
      }
      throw thrown ? thrown.error : error;
    }
    const committed = transaction as OpenTransaction | undefined;
    if (committed) await this.#afterCommitted(committed);
    return result;
  }

  /** The onCommit callbacks of a committed transaction, then its afterEnd ones; errors go to `onCommitError`. */
  async #afterCommitted(transaction: OpenTransaction): Promise<void> {
    for (const callback of transaction.afterCommit) {
      try {
        await callback();
      } catch (error) {
        this.onCommitError(error);
      }
    }
    if (transaction.afterEnd.length > 0) await this.#runAfterEnd(transaction);
  }

  /** The afterEnd callbacks of an ended transaction, each once; errors go to `onCommitError`. */
  async #runAfterEnd(transaction: OpenTransaction): Promise<void> {
    for (const callback of transaction.afterEnd.splice(0)) {
      try {
        await callback();
      } catch (error) {
        this.onCommitError(error);
      }
    }
  }

  /**
   * Runs `fn` after the ambient transaction commits (never if it rolls back); at once when there is
   * no transaction. For work that must not happen for a change that did not happen: e-mails,
   * cache invalidation, broadcasts.
   */
  onCommit(fn: () => unknown): void {
    this.#whenEnded('afterCommit', fn);
  }

  /**
   * Runs `fn` once the ambient transaction has ended, committed or rolled back; at once when there
   * is none. For what must be kept whatever becomes of the work it is about (the record of a refused
   * action, which the rollback that follows the refusal must not take with it): unlike `onCommit`,
   * a savepoint rolled back keeps it. Runs after the `onCommit` callbacks; errors go to
   * `onCommitError`.
   */
  afterEnd(fn: () => unknown): void {
    this.#whenEnded('afterEnd', fn);
  }

  /** Queues `fn` on the ambient transaction's `list`, or runs it on the next microtask when there is none. */
  #whenEnded(list: 'afterCommit' | 'afterEnd', fn: () => unknown): void {
    const open = this.#openTransaction();
    if (open) {
      open[list].push(fn);
      return;
    }
    Promise.resolve()
      .then(fn)
      .catch((error: unknown) => this.onCommitError(error));
  }

  async #withSavepoint<T>(frame: Frame, open: OpenTransaction, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      open.savepoints += 1;
      const name = sql.raw(`steadfast_sp_${open.savepoints}`);
      // onCommit callbacks registered inside a section that rolls back belong to work undone.
      const callbacksBefore = open.afterCommit.length;
      const trx = open.own;
      await sql`savepoint ${name}`.execute(trx);
      try {
        const result = await this.#storage.run({ ...frame, inSavepoint: true }, fn);
        await sql`release savepoint ${name}`.execute(trx);
        return result;
      } catch (error) {
        open.afterCommit.length = callbacksBefore;
        await sql`rollback to savepoint ${name}`.execute(trx).catch(() => {});
        await sql`release savepoint ${name}`.execute(trx).catch(() => {});
        throw error;
      }
    };
    if (frame.inSavepoint) return run();
    const section = open.tail.then(run, run);
    open.tail = section.catch(() => {});
    return section;
  }
}
