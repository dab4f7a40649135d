/**
 * TransactionBatcher, the one batching primitive under the group commit and batched saves: bounded
 * batches in submission order, no two items of one key in a batch (nor in flight at once), each
 * caller answered with its own outcome, and a failing batch or observer never stranding a caller.
 * commit-queues.test.ts, group-commit.test.ts and save-batching.test.ts pin its two uses.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  type BatchEnd,
  TransactionBatcher,
} from '../../../packages/steadfast/src/persistence/transaction-batcher.js';
import { TransactionContext } from '../../../packages/steadfast/src/persistence/transaction-context.js';
import { describeEachDatabase } from '../../support/databases.js';

describeEachDatabase('TransactionBatcher', (current) => {
  const context = () => new TransactionContext(current().opened.db);

  for (const withRunAlone of [false, true]) {
    describe(withRunAlone ? 'with runAlone' : 'without runAlone', () => {
      it('takes at most maxBatch items a batch, in the order they came, each answered with its own value', async () => {
        const batches: string[][] = [];
        const batcher = new TransactionBatcher<string, string>({
          context: context(),
          maxBatch: 3,
          runBatch: async (items) => {
            batches.push([...items]);
            return items.map((item) => ({ ok: true as const, value: `${item}!` }));
          },
          ...(withRunAlone ? { runAlone: async (item: string) => `${item} alone` } : {}),
        });
        const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
        const values = await Promise.all(items.map((item) => batcher.submit(item)));
        expect(batches).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ...(withRunAlone ? [] : [['g']])]);
        expect(values).toEqual(['a!', 'b!', 'c!', 'd!', 'e!', 'f!', withRunAlone ? 'g alone' : 'g!']);
        await batcher.idle();
      });

      if (!withRunAlone) {
        it('gathers into one batch the items that keep arriving a turn apart, up to four turns', async () => {
          const batches: string[][] = [];
          const batcher = new TransactionBatcher<string, string>({
            context: context(),
            runBatch: async (items) => {
              batches.push([...items]);
              return items.map((item) => ({ ok: true as const, value: item }));
            },
          });
          const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
          const pending = [batcher.submit('a')];
          // One item a turn, as clients answered by a commit send their next requests.
          for (const item of ['b', 'c']) {
            await turn();
            pending.push(batcher.submit(item));
          }
          await Promise.all(pending);
          expect(batches).toEqual([['a', 'b', 'c']]);
          await batcher.idle();
        });
      }

      it('answers an item refused by the batch alone, and commits the rest', async () => {
        const { db } = current().opened;
        const table = `batcher_marks_${withRunAlone ? 'alone' : 'shared'}`;
        await sql`create table ${sql.table(table)} (id text primary key)`.execute(db);
        try {
          const shared = context();
          const ends: BatchEnd[] = [];
          const batcher = new TransactionBatcher<string, string>({
            context: shared,
            runBatch: async (items) => {
              const outcomes = [];
              for (const item of items) {
                if (item === 'refused') outcomes.push({ ok: false as const, error: new Error('refused') });
                else {
                  await sql`insert into ${sql.table(table)} (id) values (${item})`.execute(shared.executor());
                  outcomes.push({ ok: true as const, value: item });
                }
              }
              return outcomes;
            },
            onBatch: (_size, end) => ends.push(end),
            ...(withRunAlone ? { runAlone: async (item: string) => item } : {}),
          });
          const results = await Promise.allSettled(['a', 'refused', 'c'].map((item) => batcher.submit(item)));
          expect(results).toMatchObject([
            { status: 'fulfilled', value: 'a' },
            { status: 'rejected', reason: { message: 'refused' } },
            { status: 'fulfilled', value: 'c' },
          ]);
          expect(ends).toEqual(['committed']);
          const rows = await sql<{ id: string }>`select id from ${sql.table(table)} order by id`.execute(db);
          expect(rows.rows.map((row) => row.id)).toEqual(['a', 'c']);
        } finally {
          await sql`drop table ${sql.table(table)}`.execute(db);
        }
      });

      it('settles every caller when the batch throws and when its observer throws', async () => {
        const failing = new TransactionBatcher<string, string>({
          context: context(),
          runBatch: async () => {
            throw new Error('the batch failed');
          },
          onBatch: () => {
            throw new Error('an observer failed');
          },
          ...(withRunAlone ? { runAlone: async (item: string) => `${item} alone` } : {}),
        });
        const results = await Promise.allSettled(['a', 'b'].map((item) => failing.submit(item)));
        expect(results).toMatchObject(
          withRunAlone
            ? [
                { status: 'fulfilled', value: 'a alone' },
                { status: 'fulfilled', value: 'b alone' },
              ]
            : [
                { status: 'rejected', reason: { message: 'the batch failed' } },
                { status: 'rejected', reason: { message: 'the batch failed' } },
              ],
        );
        await failing.idle();
      });
    });
  }

  it('never puts two items of one key in a batch nor writes them at once, so they keep their order', async () => {
    const ran: string[] = [];
    const batches: string[][] = [];
    let writing = new Set<string>();
    const batcher = new TransactionBatcher<string, string>({
      context: context(),
      maxInFlight: 4,
      keyOf: (item) => item.split(':')[0],
      runBatch: async (items) => {
        const keys = items.map((item) => item.split(':')[0] as string);
        for (const key of keys) expect(writing.has(key), key).toBe(false);
        writing = new Set([...writing, ...keys]);
        batches.push([...items]);
        ran.push(...items);
        await new Promise((resolve) => setTimeout(resolve, 5));
        for (const key of keys) writing.delete(key);
        return items.map((value) => ({ ok: true as const, value }));
      },
      runAlone: async (item) => {
        ran.push(item);
        return item;
      },
    });
    const items = ['a:1', 'a:2', 'b:1', 'a:3', 'c:1', 'b:2'];
    expect(await Promise.all(items.map((item) => batcher.submit(item)))).toEqual(items);
    expect(batches[0]).toEqual(['a:1', 'b:1', 'c:1']);
    for (const key of ['a', 'b', 'c']) {
      expect(ran.filter((item) => item.startsWith(`${key}:`))).toEqual(
        items.filter((item) => item.startsWith(`${key}:`)),
      );
    }
    await batcher.idle();
  });
});
