/**
 * Batched saves: concurrent single-record saves made outside a transaction are written together,
 * in one transaction with one read of every record and shared writes (on PostgreSQL one statement
 * writes the updates of one shape and their log entries; on SQLite one multi-row log insert),
 * instead of a transaction and four or five statements each. On PostgreSQL that turns a round
 * trip per statement per save into four per batch; on SQLite one fsync per batch.
 *
 * Each save still succeeds or fails alone. A save refused before anything is written (invalid
 * values, a stale version) is answered by the batch function and the rest go on. A failure the
 * shared transaction cannot isolate (a write the database refuses, a row another process changed
 * between the read and the write, a verification mismatch) abandons the whole batch, rolled back,
 * and every save of it runs again alone, so that only the save at fault fails. Nothing is
 * confirmed before the commit that made it durable.
 *
 * Like the group committer, batching needs no timer: while one batch is written the next saves
 * queue, and under load batches grow by themselves. Two saves of one record never share a batch,
 * so a batch reads each record once and saves of one record keep their order.
 */
import { SYSTEM_ACTOR, type TransactionContext } from './transaction-context.js';

export type BatchOutcome<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: unknown };

export interface SaveBatcherOptions<T, R> {
  readonly context: TransactionContext;
  /** Most saves one batch carries (default 256): bounds how long one transaction holds the writer. */
  readonly maxBatch?: number;
  /** The record a save names (two saves of one record never share a batch); undefined for none yet. */
  readonly recordOf: (item: T) => string | undefined;
  /**
   * Runs a batch of two or more inside its open transaction; answers one outcome per item, in
   * order. An item answered with an error must have written nothing. Throwing abandons the batch.
   */
  readonly runBatch: (items: readonly T[]) => Promise<Array<BatchOutcome<R>>>;
  /** Runs one item in a transaction of its own. */
  readonly runAlone: (item: T) => Promise<R>;
  /**
   * Most batches written at once (default 1). More suits PostgreSQL, whose pooled connections
   * write in parallel; SQLite has one writer, so a second batch would only wait for it.
   */
  readonly maxInFlight?: number;
  /** Called with each batch's size and how it ended, for metrics and tests. */
  readonly onBatch?: (size: number, outcome: 'committed' | 'abandoned' | 'failed') => void;
}

interface Unit<T, R> {
  readonly item: T;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

export class SaveBatcher<T, R> {
  readonly #options: SaveBatcherOptions<T, R>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Array<Unit<T, R>> = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** Records named by a batch being written: their later saves wait for it. */
  readonly #recordsInFlight = new Set<string>();
  #scheduled = false;

  constructor(options: SaveBatcherOptions<T, R>) {
    this.#options = options;
    this.#maxBatch = options.maxBatch ?? 256;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  }

  /** Queues `item`; resolves after the transaction that wrote it committed. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves when every submitted item has settled. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0 || this.#queue.length > 0 || this.#scheduled) {
      await Promise.all([...this.#inFlight, new Promise((resolve) => setImmediate(resolve))]);
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight.size >= this.#maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    // One turn of the event loop before taking a batch: better-sqlite3 runs every query
    // synchronously, so without it no concurrent caller could reach `submit` while a batch is
    // written, and every batch would hold one save.
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#inFlight.size < this.#maxInFlight && this.#queue.length > 0) {
        const batch = this.#take();
        // Every queued save names a record being written: the batch writing it schedules again.
        if (batch.length === 0) break;
        const running: Promise<void> = this.#runBatch(batch)
          // #runBatch settles every unit itself; should it ever throw, its callers still hear of it
          // (a settled unit ignores this) and the rejection is not left unhandled.
          .catch((error: unknown) => {
            for (const unit of batch) unit.reject(error);
          })
          .finally(() => {
            for (const unit of batch) {
              const record = this.#options.recordOf(unit.item);
              if (record !== undefined) this.#recordsInFlight.delete(record);
            }
            this.#inFlight.delete(running);
            this.#schedule();
          });
        this.#inFlight.add(running);
      }
    });
  }

  /**
   * The next batch: queued saves in order, leaving for a later batch any save of a record that is
   * already in this batch or in one being written, so that saves of one record keep their order.
   */
  #take(): Array<Unit<T, R>> {
    const batch: Array<Unit<T, R>> = [];
    const waiting: Array<Unit<T, R>> = [];
    const taken = new Set<string>();
    for (const unit of this.#queue) {
      const record = this.#options.recordOf(unit.item);
      const busy = record !== undefined && (taken.has(record) || this.#recordsInFlight.has(record));
      if (busy || batch.length >= this.#maxBatch) {
        waiting.push(unit);
        continue;
      }
      if (record !== undefined) taken.add(record);
      batch.push(unit);
    }
    this.#queue = waiting;
    for (const record of taken) this.#recordsInFlight.add(record);
    return batch;
  }

  async #runBatch(batch: Array<Unit<T, R>>): Promise<void> {
    const lone = batch.length === 1 ? batch[0] : undefined;
    if (lone) {
      settle(lone, await attempt(() => this.#options.runAlone(lone.item)));
      return;
    }
    const { context } = this.#options;
    const onBatch = (size: number, outcome: 'committed' | 'abandoned' | 'failed') => {
      // A throwing observer must not leave the batch's callers waiting forever.
      try {
        this.#options.onBatch?.(size, outcome);
      } catch {}
    };
    let outcomes: Array<BatchOutcome<R>>;
    let scope: Awaited<ReturnType<TransactionContext['openScope']>>;
    try {
      scope = await context.openScope({ actor: SYSTEM_ACTOR }, { transaction: true });
    } catch (error) {
      onBatch(batch.length, 'failed');
      for (const unit of batch) unit.reject(error);
      return;
    }
    try {
      outcomes = await scope.enter(() => this.#options.runBatch(batch.map((unit) => unit.item)));
      if (outcomes.length !== batch.length) throw new Error('a batch answered the wrong number of saves');
    } catch {
      // Nothing of the batch is kept; each save runs again on its own, so only the one at fault
      // fails (with the error it would have met alone).
      await scope.rollback().catch(() => {});
      onBatch(batch.length, 'abandoned');
      for (const unit of batch) settle(unit, await attempt(() => this.#options.runAlone(unit.item)));
      return;
    }
    try {
      await scope.commit();
    } catch (error) {
      // The commit's outcome is unknown to us: running the saves again could apply a create twice.
      onBatch(batch.length, 'failed');
      for (const unit of batch) unit.reject(error);
      return;
    }
    onBatch(batch.length, 'committed');
    batch.forEach((unit, index) => {
      settle(unit, outcomes[index] as BatchOutcome<R>);
    });
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
