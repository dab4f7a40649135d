/**
 * The ambient context of a unit of work, carried by AsyncLocalStorage: the open transaction (if
 * any) and who is acting (user id or `system`, request id, IP). A save made anywhere inside
 * `withTransaction(fn)` joins that transaction; nested `withTransaction` calls use savepoints.
 *
 * One context belongs to one database: a transaction of another database is never joined.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Kysely, sql, type Transaction } from 'kysely';

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
  readonly trx: Transaction<unknown> | Executor;
  readonly afterCommit: Array<() => unknown>;
  savepoints: number;
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

export class TransactionContext {
  readonly #storage = new AsyncLocalStorage<Frame>();

  constructor(
    private readonly db: Executor,
    private readonly onCommitError: OnCommitErrorHandler = () => {},
  ) {}

  /** The open transaction, or the root database when there is none. */
  executor(): Executor {
    return (this.#storage.getStore()?.transaction?.trx as Executor | undefined) ?? this.db;
  }

  inTransaction(): boolean {
    return this.#storage.getStore()?.transaction !== undefined;
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
    const open = frame?.transaction;
    if (open) return this.#withSavepoint(frame, open, fn);

    const trx = await this.db.startTransaction().execute();
    const transaction: OpenTransaction = { trx, afterCommit: [], savepoints: 0, tail: Promise.resolve() };
    let result: T;
    try {
      result = await this.#storage.run({ ...frame, transaction }, fn);
    } catch (error) {
      await trx
        .rollback()
        .execute()
        .catch(() => {});
      throw error;
    }
    await trx.commit().execute();
    for (const callback of transaction.afterCommit) {
      try {
        await callback();
      } catch (error) {
        this.onCommitError(error);
      }
    }
    return result;
  }

  /**
   * Runs `fn` after the ambient transaction commits (never if it rolls back); at once when there is
   * no transaction. For work that must not happen for a change that did not happen: e-mails,
   * cache invalidation, broadcasts.
   */
  onCommit(fn: () => unknown): void {
    const open = this.#storage.getStore()?.transaction;
    if (open) {
      open.afterCommit.push(fn);
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
      const trx = open.trx as Executor;
      await sql`savepoint ${name}`.execute(trx);
      try {
        const result = await this.#storage.run({ ...frame, inSavepoint: true }, fn);
        await sql`release savepoint ${name}`.execute(trx);
        return result;
      } catch (error) {
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
