/**
 * The two commit queues (GroupCommitter for units of work, SaveBatcher for saves) never strand a
 * caller: work submitted at any moment after the previous work settled still runs.
 */
import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../../src/server/persistence/group-commit.js';
import { SaveBatcher } from '../../../src/server/persistence/save-batcher.js';
import { TransactionContext } from '../../../src/server/persistence/transaction-context.js';
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
});
