/**
 * Group commit: concurrent units of work (sync requests) are written in one shared transaction,
 * so many requests cost one commit (one fsync on SQLite with synchronous=FULL) instead of one each.
 * Each unit runs in its own savepoint: one that fails is rolled back alone and rejects alone,
 * while the others still commit. Units submitted with a payload can instead be applied together
 * (`applyTogether`: shared statements for the whole batch, which is what the sync endpoint's
 * throughput rests on), with the savepoint-per-unit path as the fallback when that fails. Every
 * unit resolves only after the shared commit, so nothing is confirmed before it is durable.
 *
 * Batching needs no timer: while one batch commits, the next requests queue; they form the next
 * batch. A lone request therefore waits for nothing, and under load batches grow by themselves.
 */
import type { Actor, TransactionContext } from './transaction-context.js';

/** What one unit of a batch came to: its value, or the error it was refused with. */
export type UnitOutcome<T = unknown> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

/** A unit as `applyTogether` sees it: who submitted it and the payload it was submitted with. */
export interface PayloadUnit<P> {
  readonly actor: Actor;
  readonly payload: P;
}

export interface GroupCommitOptions<P = never> {
  readonly context: TransactionContext;
  /** Most units one transaction carries (default 256): bounds how long one commit holds the writer. */
  readonly maxBatch?: number;
  /** Called with each batch's size and outcome, for metrics. */
  readonly onBatch?: (size: number, outcome: 'committed' | 'failed', applied: BatchMode) => void;
  /**
   * Applies the payloads of a batch's units together, in shared statements (one insert for all
   * their rows rather than one per unit), in a savepoint of the batch's transaction. Answers one
   * outcome per unit, in order; a unit it refuses must have written nothing. When it throws, its
   * writes are rolled back and each unit runs its own `work` alone, in a savepoint of its own, so
   * only the unit at fault fails. Used only when every unit of the batch came with a payload.
   */
  readonly applyTogether?: (units: ReadonlyArray<PayloadUnit<P>>) => Promise<UnitOutcome[]>;
}

/**
 * How a batch's units were applied (or were to be, for a batch whose transaction failed): one
 * alone, together (`applyTogether`), or one by one in savepoints.
 */
export type BatchMode = 'lone' | 'together' | 'separately';

interface Unit<P> {
  readonly actor: Actor;
  readonly work: () => Promise<unknown>;
  readonly payload: P | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** How a batch is applied unless `applyTogether` takes it: alone, or one by one in savepoints. */
function modeBefore(batch: readonly unknown[]): BatchMode {
  return batch.length === 1 ? 'lone' : 'separately';
}

export class GroupCommitter<P = never> {
  readonly #context: TransactionContext;
  readonly #maxBatch: number;
  readonly #onBatch: GroupCommitOptions<P>['onBatch'];
  readonly #applyTogether: GroupCommitOptions<P>['applyTogether'];
  #queue: Array<Unit<P>> = [];
  #draining: Promise<void> | undefined;

  constructor(options: GroupCommitOptions<P>) {
    this.#context = options.context;
    this.#maxBatch = options.maxBatch ?? 256;
    this.#onBatch = options.onBatch;
    this.#applyTogether = options.applyTogether;
  }

  /**
   * Runs `work` as `actor` in the next shared transaction; resolves with its value after that
   * transaction committed, or rejects with its error (nothing of it written). With a `payload`, the
   * unit may instead be applied together with others through the `applyTogether` option; `work`
   * must then do what `applyTogether` would do for that payload alone.
   *
   * @example const result = await committer.submit({ actor: '42' }, () => applyBatch(request))
   */
  submit<T>(actor: Actor, work: () => Promise<T>, payload?: P): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ actor, work, payload, resolve: resolve as (value: unknown) => void, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** Resolves when every submitted unit has settled (for a graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#runBatch();
    } finally {
      // Cleared in the same turn as the last look at the queue: a `submit` arriving a tick later
      // starts a new drain instead of joining one that has already ended (and waiting forever).
      this.#draining = undefined;
    }
  }

  async #runBatch(): Promise<void> {
    let outcomes: UnitOutcome[] = [];
    let batch: Array<Unit<P>> = [];
    let mode: BatchMode = 'lone';
    try {
      const scope = await this.#context.openScope({ actor: 'system' }, { transaction: true });
      // Take the batch only once the transaction is open, after one turn of the event loop:
      // better-sqlite3 runs every query (and the commit's fsync) synchronously, so without this
      // turn no other request could ever progress to `submit` while a batch runs, and every batch
      // would hold one request.
      await new Promise((resolve) => setImmediate(resolve));
      batch = this.#queue.splice(0, this.#maxBatch);
      mode = modeBefore(batch);
      try {
        await scope.enter(async () => {
          // A lone unit needs no savepoint: its failure rolls back the whole transaction anyway.
          const lone = batch.length === 1 ? batch[0] : undefined;
          if (lone) {
            outcomes.push({ ok: true, value: await this.#context.runAs(lone.actor, lone.work) });
            return;
          }
          const together = await this.#tryTogether(batch);
          if (together) {
            mode = 'together';
            outcomes = together;
            return;
          }
          for (const unit of batch) {
            try {
              const value = await this.#context.withTransaction(() =>
                this.#context.runAs(unit.actor, unit.work),
              );
              outcomes.push({ ok: true, value });
            } catch (error) {
              outcomes.push({ ok: false, error });
            }
          }
        });
      } catch (error) {
        await scope.rollback().catch(() => {});
        throw error;
      }
      await scope.commit();
    } catch (error) {
      // The shared transaction could not open or commit: no unit of it is durable.
      if (batch.length === 0) {
        batch = this.#queue.splice(0, this.#maxBatch);
        mode = modeBefore(batch);
      }
      this.#onBatch?.(batch.length, 'failed', mode);
      for (const unit of batch) unit.reject(error);
      return;
    }
    this.#onBatch?.(batch.length, 'committed', mode);
    batch.forEach((unit, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) unit.resolve(outcome.value);
      else unit.reject(outcome ? outcome.error : new Error('group commit lost a unit'));
    });
  }

  /**
   * The batch applied by `applyTogether` in a savepoint; undefined (its writes rolled back) when
   * there is no such option, a unit has no payload, or it threw or answered the wrong count.
   */
  async #tryTogether(batch: ReadonlyArray<Unit<P>>): Promise<UnitOutcome[] | undefined> {
    const applyTogether = this.#applyTogether;
    if (!applyTogether) return undefined;
    const units: Array<PayloadUnit<P>> = [];
    for (const unit of batch) {
      if (unit.payload === undefined) return undefined;
      units.push({ actor: unit.actor, payload: unit.payload });
    }
    try {
      return await this.#context.withTransaction(async () => {
        const outcomes = await applyTogether(units);
        if (outcomes.length !== units.length) throw new Error('applyTogether answered the wrong count');
        return outcomes;
      });
    } catch {
      return undefined;
    }
  }
}
