/**
 * The two commit queues (GroupCommitter for units of work, SaveBatcher for saves) never strand a
 * caller: work submitted at any moment after the previous work settled still runs.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  GroupCommitter,
  type UnitOutcome,
} from '../../../packages/steadfast/src/persistence/group-commit.js';
import { SaveBatcher } from '../../../packages/steadfast/src/persistence/save-batcher.js';
import { TransactionContext } from '../../../packages/steadfast/src/persistence/transaction-context.js';
import { describeEachDatabase } from '../../support/databases.js';

/** Rejects when `promise` has not settled within `ms`: a stranded caller fails the test, not the run. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)),
  ]);
}

/** Submits a second item `hops` microtask turns after the first settled, for every hops in 0..15. */
async function submitAcrossTheSettlingTurns(submit: (label: string) => Promise<string>): Promise<void> {
  for (let hops = 0; hops < 16; hops += 1) {
    const second = submit('first').then(async () => {
      for (let i = 0; i < hops; i += 1) await null;
      return submit('second');
    });
    await expect(within(second, 3000)).resolves.toBe('second');
  }
}

describeEachDatabase('commit queues', (current) => {
  describe('GroupCommitter', () => {
    it('runs a unit submitted any number of turns after the previous one settled', async () => {
      const committer = new GroupCommitter({ context: new TransactionContext(current().opened.db) });
      await submitAcrossTheSettlingTurns((label) => committer.submit({ actor: 'test' }, async () => label));
    });
  });

  describe('GroupCommitter applying units together', () => {
    /** A committer whose applyTogether is `together`, recording how each batch was applied. */
    function committerWith(together: (payloads: string[]) => Promise<UnitOutcome[]>) {
      const context = new TransactionContext(current().opened.db);
      const modes: string[] = [];
      const calls: string[][] = [];
      const committer = new GroupCommitter<string>({
        context,
        onBatch: (_size, outcome, applied) => modes.push(`${outcome}:${applied}`),
        applyTogether: (units) => {
          const payloads = units.map((unit) => unit.payload);
          calls.push(payloads);
          return together(payloads);
        },
      });
      /** Submits every payload in this one turn (one batch), `work` being the unit's path alone. */
      const submitAll = (payloads: Array<string | undefined>, work: (label: string) => Promise<string>) =>
        Promise.allSettled(
          payloads.map((payload, index) =>
            committer.submit({ actor: 'test' }, () => work(payload ?? `plain${index}`), payload),
          ),
        );
      return { context, committer, modes, calls, submitAll };
    }

    it('answers each unit with its own outcome from applyTogether, a refused one alone', async () => {
      const { modes, submitAll } = committerWith(async (payloads) =>
        payloads.map((payload) =>
          payload === 'refused'
            ? { ok: false, error: new Error('refused') }
            : { ok: true, value: `${payload}!` },
        ),
      );
      const results = await submitAll(['a', 'refused', 'c'], async () => 'ran alone');
      expect(results).toMatchObject([
        { status: 'fulfilled', value: 'a!' },
        { status: 'rejected', reason: { message: 'refused' } },
        { status: 'fulfilled', value: 'c!' },
      ]);
      expect(modes).toEqual(['committed:together']);
    });

    it('rolls back what applyTogether wrote when it throws, and runs each unit alone', async () => {
      const { db } = current().opened;
      await sql`create table together_marks (id integer primary key)`.execute(db);
      try {
        const { context, modes, submitAll } = committerWith(async () => {
          await sql`insert into together_marks (id) values (1)`.execute(context.executor());
          throw new Error('a shared statement failed');
        });
        const results = await submitAll(['a', 'bad', 'c'], async (label) => {
          if (label === 'bad') throw new Error('bad alone');
          return `${label} alone`;
        });
        expect(results).toMatchObject([
          { status: 'fulfilled', value: 'a alone' },
          { status: 'rejected', reason: { message: 'bad alone' } },
          { status: 'fulfilled', value: 'c alone' },
        ]);
        expect(modes).toEqual(['committed:separately']);
        const marks = await sql<{ n: number }>`select count(*) as n from together_marks`.execute(db);
        expect(Number(marks.rows[0]?.n)).toBe(0);
      } finally {
        await sql`drop table together_marks`.execute(db);
      }
    });

    it('runs each unit alone when applyTogether answers the wrong number of outcomes', async () => {
      const { modes, submitAll } = committerWith(async () => [{ ok: true, value: 'only one' }]);
      const results = await submitAll(['a', 'b'], async (label) => `${label} alone`);
      expect(results).toMatchObject([
        { status: 'fulfilled', value: 'a alone' },
        { status: 'fulfilled', value: 'b alone' },
      ]);
      expect(modes).toEqual(['committed:separately']);
    });

    it('does not call applyTogether for a batch with a unit submitted without a payload, nor for a lone unit', async () => {
      const { modes, calls, submitAll } = committerWith(async () => {
        throw new Error('must not be called');
      });
      const mixed = await submitAll(['a', undefined], async (label) => `${label} alone`);
      expect(mixed).toMatchObject([
        { status: 'fulfilled', value: 'a alone' },
        { status: 'fulfilled', value: 'plain1 alone' },
      ]);
      const lone = await submitAll(['solo'], async (label) => `${label} alone`);
      expect(lone).toMatchObject([{ status: 'fulfilled', value: 'solo alone' }]);
      expect(calls).toEqual([]);
      expect(modes).toEqual(['committed:separately', 'committed:lone']);
    });
  });

  describe('SaveBatcher', () => {
    it('runs a save submitted any number of turns after the previous one settled', async () => {
      const batcher = new SaveBatcher<string, string>({
        context: new TransactionContext(current().opened.db),
        recordOf: () => undefined,
        runBatch: async (items) => items.map((value) => ({ ok: true as const, value })),
        runAlone: async (item) => item,
      });
      await submitAcrossTheSettlingTurns((label) => batcher.submit(label));
      await batcher.idle();
    });
  });

  describe('SaveBatcher when a batch fails', () => {
    it('a commit that fails rejects every item of the batch and runs none again (its outcome is unknown)', async () => {
      const { db } = current().opened;
      // A deferred foreign key is checked at COMMIT: a real commit failure on both engines.
      await sql`create table batch_parent (id integer primary key)`.execute(db);
      await sql`create table batch_child (id integer primary key, parent integer references batch_parent (id) deferrable initially deferred)`.execute(
        db,
      );
      try {
        const context = new TransactionContext(db);
        const ranAlone: string[] = [];
        const outcomes: string[] = [];
        const batcher = new SaveBatcher<string, string>({
          context,
          recordOf: () => undefined,
          runBatch: async (items) => {
            await sql`insert into batch_child (id, parent) values (1, 42)`.execute(context.executor());
            return items.map((value) => ({ ok: true as const, value }));
          },
          runAlone: async (item) => {
            ranAlone.push(item);
            return item;
          },
          onBatch: (_size, outcome) => outcomes.push(outcome),
        });
        const results = await Promise.allSettled(['a', 'b', 'c'].map((item) => batcher.submit(item)));
        expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
        expect(outcomes).toEqual(['failed']);
        expect(ranAlone).toEqual([]);
        const children = await sql<{ n: number }>`select count(*) as n from batch_child`.execute(db);
        expect(Number(children.rows[0]?.n)).toBe(0);
      } finally {
        await sql`drop table batch_child`.execute(db);
        await sql`drop table batch_parent`.execute(db);
      }
    });

    it('a batch that throws before its commit is rolled back and each item runs again alone', async () => {
      const { db } = current().opened;
      await sql`create table batch_marks (id integer primary key)`.execute(db);
      try {
        const context = new TransactionContext(db);
        const outcomes: string[] = [];
        const batcher = new SaveBatcher<string, string>({
          context,
          recordOf: () => undefined,
          runBatch: async () => {
            await sql`insert into batch_marks (id) values (1)`.execute(context.executor());
            throw new Error('the batch failed after a write');
          },
          runAlone: async (item) => {
            if (item === 'bad') throw new Error('bad alone');
            return item;
          },
          onBatch: (_size, outcome) => outcomes.push(outcome),
        });
        const results = await Promise.allSettled(['a', 'bad', 'c'].map((item) => batcher.submit(item)));
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(outcomes).toEqual(['abandoned']);
        const marks = await sql<{ n: number }>`select count(*) as n from batch_marks`.execute(db);
        expect(Number(marks.rows[0]?.n)).toBe(0);
      } finally {
        await sql`drop table batch_marks`.execute(db);
      }
    });

    it('a batch function that answers nonsense still settles every caller, never strands one', async () => {
      const batcher = new SaveBatcher<string, string>({
        context: new TransactionContext(current().opened.db),
        recordOf: () => undefined,
        // Holes where outcomes should be: a bug in a batch function, not a database fault.
        runBatch: async (items) => new Array(items.length),
        runAlone: async (item) => item,
      });
      const results = await within(
        Promise.allSettled(['a', 'b', 'c'].map((item) => batcher.submit(item))),
        3000,
      );
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      await within(batcher.idle(), 3000);
    });
  });
});
