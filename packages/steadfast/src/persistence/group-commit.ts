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
 * The gathering, the shared transaction and the per-unit outcomes are TransactionBatcher's
 * (transaction-batcher.ts), which batched saves use too; what is the group committer's own is how
 * a batch's units are applied (alone, together, or each in a savepoint).
 */
import { type BatchOutcome, TransactionBatcher } from './transaction-batcher.js';
import type { Actor, TransactionContext } from './transaction-context.js';

/** What one unit of a batch came to: its value, or the error it was refused with. */
export type UnitOutcome<T = unknown> = BatchOutcome<T>;

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
}

/** How a batch is applied unless `applyTogether` takes it: alone, or one by one in savepoints. */
function modeBefore(batch: readonly unknown[]): BatchMode {
  return batch.length === 1 ? 'lone' : 'separately';
}

export class GroupCommitter<P = never> {
  readonly #context: TransactionContext;
  readonly #applyTogether: GroupCommitOptions<P>['applyTogether'];
  readonly #batcher: TransactionBatcher<Unit<P>, unknown>;
  /** How each batch was applied, for `onBatch` (keyed by the batch's array of units). */
  readonly #modes = new WeakMap<readonly Unit<P>[], BatchMode>();

  constructor(options: GroupCommitOptions<P>) {
    this.#context = options.context;
    this.#applyTogether = options.applyTogether;
    const { onBatch } = options;
    // No `runAlone`: every batch, even of one, runs in the shared transaction, opened before the
    // batch is taken; a unit that throws outside a savepoint (a lone one) fails its batch.
    this.#batcher = new TransactionBatcher<Unit<P>, unknown>({
      context: options.context,
      maxBatch: options.maxBatch,
      runBatch: (units) => this.#applyBatch(units),
      onBatch:
        onBatch &&
        ((size, end, units) =>
          onBatch(
            size,
            end === 'committed' ? 'committed' : 'failed',
            this.#modes.get(units) ?? modeBefore(units),
          )),
    });
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
    return this.#batcher.submit({ actor, work, payload }) as Promise<T>;
  }

  /** Resolves when every submitted unit has settled (for a graceful shutdown). */
  idle(): Promise<void> {
    return this.#batcher.idle();
  }

  /** A batch's units in its open transaction: a lone one as it is, else together or each in a savepoint. */
  async #applyBatch(units: readonly Unit<P>[]): Promise<UnitOutcome[]> {
    // A lone unit needs no savepoint: its failure rolls back the whole transaction anyway.
    const lone = units.length === 1 ? units[0] : undefined;
    if (lone) {
      this.#modes.set(units, 'lone');
      return [{ ok: true, value: await this.#context.runAs(lone.actor, lone.work) }];
    }
    const together = await this.#tryTogether(units);
    if (together) {
      this.#modes.set(units, 'together');
      return together;
    }
    this.#modes.set(units, 'separately');
    const outcomes: UnitOutcome[] = [];
    for (const unit of units) {
      try {
        const value = await this.#context.withTransaction(() => this.#context.runAs(unit.actor, unit.work));
        outcomes.push({ ok: true, value });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }

  /**
   * The batch applied by `applyTogether` in a savepoint; undefined (its writes rolled back) when
   * there is no such option, a unit has no payload, or it threw or answered the wrong count.
   */
  async #tryTogether(batch: readonly Unit<P>[]): Promise<UnitOutcome[] | undefined> {
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
