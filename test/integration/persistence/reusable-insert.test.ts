/**
 * ReusableInsert (the log's compiled multi-row insert): every row lands with its own values, ids
 * come back in row order (or, with `run`, are not asked for), for any row count across its
 * power-of-two chunks, on both engines.
 */
import { expect, it } from 'vitest';
import { ReusableInsert } from '../../../packages/steadfast/src/db/reusable-insert.js';
import type { NewActivityLogRow } from '../../../packages/steadfast/src/db/schema.js';
import { ENTRY_COLUMNS } from '../../../packages/steadfast/src/persistence/change-tracker.js';
import { describeEachDatabase } from '../../support/databases.js';

function entry(model: string, n: number): NewActivityLogRow {
  return {
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    actor: `actor-${n}`,
    action: 'update',
    model,
    object_id: String(n),
    changes: JSON.stringify({ n: [n - 1, n] }),
    snapshot: JSON.stringify({ n }),
    request_id: n % 2 ? `req-${n}` : null,
    ip: n % 3 ? null : '203.0.113.7',
    version: n + 1,
    prev_hash: n ? `hash-${n - 1}` : null,
    hash: `hash-${n}`,
  };
}

describeEachDatabase('ReusableInsert', (current) => {
  /** The log rows of `model`, in insert order. */
  const storedOf = (db: ReturnType<typeof current>['opened']['db'], model: string) =>
    db.selectFrom('steadfast_activity_log').selectAll().where('model', '=', model).orderBy('id').execute();

  it('inserts any number of rows, each with its own values, and answers their ids in order', async () => {
    const { db } = current().opened;
    const insert = new ReusableInsert<'steadfast_activity_log', NewActivityLogRow>(
      'steadfast_activity_log',
      ENTRY_COLUMNS,
      8,
    );
    // 0, one chunk, a chunk plus remainders, several full chunks: and the same sizes again, cached.
    for (const count of [0, 1, 8, 13, 31, 13]) {
      const model = `Reusable${count}x${Math.random().toString(36).slice(2, 8)}`;
      const rows = Array.from({ length: count }, (_, n) => entry(model, n));
      const ids = (await insert.execute(db, rows)).map((row) => Number(row.id));
      expect(ids).toHaveLength(count);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      const stored = await storedOf(db, model);
      expect(stored.map((row) => Number(row.id))).toEqual(ids);
      expect(
        stored.map((row) => ({ ...row, id: undefined, version: Number(row.version), checkpoint: undefined })),
      ).toEqual(
        rows.map((row) => ({
          ...row,
          id: undefined,
          checkpoint: undefined,
        })),
      );
    }
  });

  it('run inserts the same rows without asking their ids back, its SQL cached apart from execute’s', async () => {
    const { db } = current().opened;
    const insert = new ReusableInsert<'steadfast_activity_log', NewActivityLogRow>(
      'steadfast_activity_log',
      ENTRY_COLUMNS,
      8,
    );
    // execute first, so a cache shared between the two would hand run a `returning` statement.
    for (const [count, withIds] of [
      [13, true],
      [13, false],
      [0, false],
      [31, false],
      [13, true],
    ] as const) {
      const model = `ReusableRun${count}x${Math.random().toString(36).slice(2, 8)}`;
      const rows = Array.from({ length: count }, (_, n) => entry(model, n));
      if (withIds) expect(await insert.execute(db, rows)).toHaveLength(count);
      else expect(await insert.run(db, rows)).toBeUndefined();
      const stored = await storedOf(db, model);
      expect(
        stored.map((row) => ({ ...row, id: undefined, version: Number(row.version), checkpoint: undefined })),
      ).toEqual(rows.map((row) => ({ ...row, id: undefined, checkpoint: undefined })));
    }
  });

  it('refuses a chunk size that is not a power of two', () => {
    expect(() => new ReusableInsert('steadfast_activity_log', ENTRY_COLUMNS, 100)).toThrow(/power of two/);
  });
});
