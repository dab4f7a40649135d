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
 *
 * The gathering, the shared transaction and the per-save outcomes are TransactionBatcher's
 * (transaction-batcher.ts), which the group committer uses too; a save batcher is one with a
 * record per save (its key) and a way to run a save alone.
 */
import {
  type BatchEnd,
  type BatchOutcome,
  TransactionBatcher,
  type TransactionBatcherOptions,
} from './transaction-batcher.js';

export type { BatchOutcome } from './transaction-batcher.js';

export interface SaveBatcherOptions<T, R>
  extends Pick<TransactionBatcherOptions<T, R>, 'context' | 'maxBatch' | 'maxInFlight'> {
  /** The record a save names (two saves of one record never share a batch); undefined for none yet. */
  readonly recordOf: (item: T) => string | undefined;
  /**
   * Runs a batch of two or more inside its open transaction; answers one outcome per item, in
   * order. An item answered with an error must have written nothing. Throwing abandons the batch.
   */
  readonly runBatch: (items: readonly T[]) => Promise<Array<BatchOutcome<R>>>;
  /** Runs one item in a transaction of its own: a lone save, and each save of an abandoned batch. */
  readonly runAlone: (item: T) => Promise<R>;
  /** Called with each batch's size and how it ended, for metrics and tests. */
  readonly onBatch?: (size: number, outcome: BatchEnd) => void;
}

export class SaveBatcher<T, R> extends TransactionBatcher<T, R> {
  constructor(options: SaveBatcherOptions<T, R>) {
    const { recordOf, onBatch, ...rest } = options;
    super({ ...rest, keyOf: recordOf, onBatch: onBatch && ((size, end) => onBatch(size, end)) });
  }
}
