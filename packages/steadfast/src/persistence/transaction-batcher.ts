/**
 * Gathers concurrent calls into shared transactions: each call submits an item, the items waiting
 * together form a batch (at most `maxBatch`), the batch runs as one unit in one transaction, and
 * each caller hears its own item's outcome, only after the commit that made it durable. Group
 * commit (sync requests, group-commit.ts) and batched saves (save-batcher.ts) are two uses of it.
 *
 * Each item still succeeds or fails alone. The batch function answers one outcome per item, and an
 * item it refuses must have written nothing. When the batch function throws, the batch is rolled
 * back and then either every item of it runs again alone (`runAlone`), so that only the item at
 * fault fails, or, without `runAlone`, every item fails with the error. When the commit fails its
 * outcome is unknown, so nothing runs again: every item fails with the commit's error.
 *
 * Batching needs no timer: while one batch is written the next items queue, and under load batches
 * grow by themselves; a lone item waits for nothing but one turn of the event loop. Two items of
 * one key (`keyOf`, a record) never share a batch nor run at once, so they keep their order.
 */
import { type Scope, SYSTEM_ACTOR, type TransactionContext } from './transaction-context.js';

/** What one item of a batch came to: its value, or the error it was refused with. */
export type BatchOutcome<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: unknown };

/** How a batch ended: committed, rolled back and run again item by item (`runAlone`), or failed. */
export type BatchEnd = 'committed' | 'abandoned' | 'failed';

export interface TransactionBatcherOptions<T, R> {
  readonly context: TransactionContext;
  /** Most items one batch carries (default 256): bounds how long one transaction holds the writer. */
  readonly maxBatch?: number;
  /**
   * Most batches written at once (default 1). More suits PostgreSQL, whose pooled connections
   * write in parallel; SQLite has one writer, so a second batch would only wait for it.
   */
  readonly maxInFlight?: number;
  /** The key an item names (two items of one key never share a batch nor run at once); undefined for none. */
  readonly keyOf?: (item: T) => string | undefined;
  /**
   * Runs a batch inside its open transaction; answers one outcome per item, in order. An item
   * answered with an error must have written nothing. Throwing, or answering the wrong number of
   * outcomes, abandons the batch (rolled back).
   */
  readonly runBatch: (items: readonly T[]) => Promise<ReadonlyArray<BatchOutcome<R>>>;
  /**
   * Runs one item in a transaction of its own. When given, a batch of one item runs through it
   * (it needs no shared transaction), and each item of an abandoned batch runs again through it.
   * Without it, a batch of one runs in the shared transaction too, which is then opened before the
   * batch is taken, so whatever arrives while it opens (a round trip on PostgreSQL, the wait for
   * SQLite's one connection) joins the batch; an abandoned batch fails every item with its error.
   */
  readonly runAlone?: (item: T) => Promise<R>;
  /** Called with each batch's size, how it ended and its items (the array `runBatch` was given), for metrics and tests. */
  readonly onBatch?: (size: number, end: BatchEnd, items: readonly T[]) => void;
}

interface Unit<T, R> {
  readonly item: T;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

/** One turn of the event loop (see `#schedule`). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Most turns a batch waits to gather while items keep arriving (`#gather`). */
const GATHER_TURNS = 4;

export class TransactionBatcher<T, R> {
  readonly #options: TransactionBatcherOptions<T, R>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Array<Unit<T, R>> = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** Keys named by a batch being written: their later items wait for it. */
  readonly #keysInFlight = new Set<string>();
  /** A batch is about to be taken (its turn of the event loop is pending, or its transaction opening). */
  #scheduled = false;

  constructor(options: TransactionBatcherOptions<T, R>) {
    this.#options = options;
    this.#maxBatch = options.maxBatch ?? 256;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  }

  /** Queues `item`; resolves with its value after the transaction that wrote it committed, or rejects with its error. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves when every submitted item has settled (for a graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0 || this.#queue.length > 0 || this.#scheduled) {
      await Promise.all([...this.#inFlight, nextTurn()]);
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight.size >= this.#maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    const { runAlone } = this.#options;
    if (!runAlone) {
      this.#track(this.#openThenRun());
      return;
    }
    // One turn of the event loop before taking a batch: better-sqlite3 runs every query (and the
    // commit's fsync) synchronously, so without it no concurrent caller could reach `submit` while
    // a batch is written, and every batch would hold one item.
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#inFlight.size < this.#maxInFlight && this.#queue.length > 0) {
        const batch = this.#take();
        // Every queued item names a key being written: the batch writing it schedules again.
        if (batch.length === 0) break;
        const lone = batch.length === 1 ? batch[0] : undefined;
        this.#track(
          lone ? this.#runAlone(lone, runAlone) : this.#settled(batch, () => this.#run(batch, undefined)),
        );
      }
    });
  }

  #track(running: Promise<void>): void {
    const tracked: Promise<void> = running.finally(() => {
      this.#inFlight.delete(tracked);
      this.#schedule();
    });
    this.#inFlight.add(tracked);
  }

  /** The shared transaction first, then (after a turn) the batch: the path without `runAlone`. */
  async #openThenRun(): Promise<void> {
    let scope: Scope;
    try {
      scope = await this.#options.context.openScope({ actor: SYSTEM_ACTOR }, { transaction: true });
    } catch (error) {
      // The transaction could not open: the batch it was for fails with it.
      this.#scheduled = false;
      const batch = this.#take();
      await this.#settled(batch, async () => this.#fail(batch, error));
      return;
    }
    await this.#gather();
    this.#scheduled = false;
    const batch = this.#take();
    this.#schedule();
    if (batch.length === 0) {
      await scope.rollback().catch(() => {});
      return;
    }
    await this.#settled(batch, () => this.#run(batch, scope));
  }

  /**
   * Waits a turn of the event loop for the batch to gather, and more turns while each brings more
   * items (at most GATHER_TURNS, or until a batch is full). After a commit its callers' clients
   * send their next requests over several turns; taking them in one batch rather than two halves
   * commits less often (the sync benchmark's groups went from 37 to 58 requests, and its CPU per
   * request down by 4 to 11%). A lone item's turn brings nothing, so it waits only the one turn.
   */
  async #gather(): Promise<void> {
    let queued = this.#queue.length;
    for (let turn = 1; ; turn += 1) {
      await nextTurn();
      const grown = this.#queue.length > queued;
      queued = this.#queue.length;
      if (!grown || turn >= GATHER_TURNS || queued >= this.#maxBatch) return;
    }
  }

  /**
   * Runs `work`, which settles every unit of `batch` itself; should it ever throw, the batch's
   * callers still hear of it (a settled unit ignores this) and nothing is left unhandled. Then
   * frees the batch's keys.
   */
  async #settled(batch: Array<Unit<T, R>>, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      for (const unit of batch) unit.reject(error);
    } finally {
      this.#free(batch);
    }
  }

  /**
   * A batch of one item on the `runAlone` path: the item in a transaction of its own, with none
   * of a batch's bookkeeping (a lone caller's every save comes this way).
   */
  async #runAlone(unit: Unit<T, R>, runAlone: (item: T) => Promise<R>): Promise<void> {
    try {
      unit.resolve(await runAlone(unit.item));
    } catch (error) {
      unit.reject(error);
    } finally {
      this.#free([unit]);
    }
  }

  /** Frees the keys of a batch written (or abandoned): their later items may be taken. */
  #free(batch: readonly Unit<T, R>[]): void {
    const { keyOf } = this.#options;
    if (!keyOf) return;
    for (const unit of batch) {
      const key = keyOf(unit.item);
      if (key !== undefined) this.#keysInFlight.delete(key);
    }
  }

  /**
   * The next batch: queued items in order, leaving for a later batch any item of a key that is
   * already in this batch or in one being written, so that items of one key keep their order.
   */
  #take(): Array<Unit<T, R>> {
    const { keyOf } = this.#options;
    if (!keyOf) return this.#queue.splice(0, this.#maxBatch);
    const batch: Array<Unit<T, R>> = [];
    const waiting: Array<Unit<T, R>> = [];
    const taken = new Set<string>();
    for (const unit of this.#queue) {
      const key = keyOf(unit.item);
      const busy = key !== undefined && (taken.has(key) || this.#keysInFlight.has(key));
      if (busy || batch.length >= this.#maxBatch) {
        waiting.push(unit);
        continue;
      }
      if (key !== undefined) taken.add(key);
      batch.push(unit);
    }
    this.#queue = waiting;
    for (const key of taken) this.#keysInFlight.add(key);
    return batch;
  }

  /** Runs a taken batch in `scope`, or (`runAlone`'s path, two items or more) in a new one. */
  async #run(batch: Array<Unit<T, R>>, opened: Scope | undefined): Promise<void> {
    const { context, runAlone, runBatch } = this.#options;
    const items = batch.map((unit) => unit.item);
    let scope = opened;
    if (!scope) {
      try {
        scope = await context.openScope({ actor: SYSTEM_ACTOR }, { transaction: true });
      } catch (error) {
        this.#fail(batch, error, items);
        return;
      }
    }
    let outcomes: ReadonlyArray<BatchOutcome<R>>;
    try {
      outcomes = await scope.enter(() => runBatch(items));
      if (outcomes.length !== batch.length) throw new Error('a batch answered the wrong number of outcomes');
    } catch (error) {
      await scope.rollback().catch(() => {});
      if (!runAlone) {
        this.#fail(batch, error, items);
        return;
      }
      // Nothing of the batch is kept; each item runs again on its own, so only the one at fault
      // fails (with the error it would have met alone).
      this.#report(items, 'abandoned');
      for (const unit of batch) settle(unit, await attempt(() => runAlone(unit.item)));
      return;
    }
    try {
      await scope.commit();
    } catch (error) {
      // The commit's outcome is unknown to us: running the items again could apply a create twice.
      this.#fail(batch, error, items);
      return;
    }
    this.#report(items, 'committed');
    batch.forEach((unit, index) => {
      settle(unit, outcomes[index] ?? { ok: false, error: new Error('a batch lost an item') });
    });
  }

  /** No item of the batch is durable: each fails with `error`. */
  #fail(
    batch: Array<Unit<T, R>>,
    error: unknown,
    items: readonly T[] = batch.map((unit) => unit.item),
  ): void {
    this.#report(items, 'failed');
    for (const unit of batch) unit.reject(error);
  }

  #report(items: readonly T[], end: BatchEnd): void {
    // A throwing observer must not leave the batch's callers waiting forever.
    try {
      this.#options.onBatch?.(items.length, end, items);
    } catch {}
  }
}

async function attempt<R>(fn: () => Promise<R>): Promise<BatchOutcome<R>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

function settle<T, R>(unit: Unit<T, R>, outcome: BatchOutcome<R>): void {
  if (outcome.ok) unit.resolve(outcome.value);
  else unit.reject(outcome.error);
}
