import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import {
  type Persistence,
  pruneActivityLog,
  verifyActivityLog,
} from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { createProduct } from '../../support/persistence-fixtures.js';

const run = promisify(execFile);

describeEachDatabase('activity log tamper evidence', (current) => {
  let persistence: Persistence;
  beforeAll(() => {
    persistence = createAppPersistence({ db: current().opened.db });
  });

  async function productWithHistory(versions: number) {
    const product = await createProduct(persistence);
    for (let v = 2; v <= versions; v += 1) {
      await persistence.autoSave('Product', { id: product.id, quantity: v * 10 });
    }
    const { entries } = await persistence.activityLog.query({
      model: 'Product',
      objectId: String(product.id),
    });
    return { product, entries: [...entries].reverse() };
  }

  it('an untouched log verifies', async () => {
    await productWithHistory(3);
    const report = await verifyActivityLog(current().opened.db, persistence.registry);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.entriesChecked).toBeGreaterThanOrEqual(3);
  });

  it('names an entry edited directly in the database', async () => {
    const { entries } = await productWithHistory(4);
    const victim = entries[1];
    if (!victim) throw new Error('no entry');
    const { db } = current().opened;
    await db
      .updateTable('steadfast_activity_log')
      .set({ changes: JSON.stringify({ quantity: [0, 1] }) })
      .where('id', '=', victim.id)
      .execute();
    const report = await verifyActivityLog(db, persistence.registry);
    expect(report.ok).toBe(false);
    expect(report.problems[0]?.entryId).toBe(victim.id);
    expect(report.problems[0]?.reason).toMatch(/altered/);
    // Put it back so later tests start from a verifying log.
    await db.deleteFrom('steadfast_activity_log').where('object_id', '=', victim.objectId).execute();
    await db.deleteFrom('products').where('id', '=', Number(victim.objectId)).execute();
  });

  it('names the entry after one that was removed, and a record whose newest entries were removed', async () => {
    const { product, entries } = await productWithHistory(4);
    const { db } = current().opened;
    const [, second, third, fourth] = entries;
    if (!second || !third || !fourth) throw new Error('missing entries');
    await db.deleteFrom('steadfast_activity_log').where('id', '=', second.id).execute();
    let report = await verifyActivityLog(db, persistence.registry);
    expect(report.problems[0]?.entryId).toBe(third.id);
    expect(report.problems[0]?.reason).toMatch(/removed/);

    await db
      .deleteFrom('steadfast_activity_log')
      .where('object_id', '=', String(product.id))
      .where('id', '>', second.id)
      .execute();
    report = await verifyActivityLog(db, persistence.registry);
    expect(
      report.problems.some(
        (p) => p.objectId === String(product.id) && /newer entries were removed/.test(p.reason),
      ),
    ).toBe(true);
    await db.deleteFrom('steadfast_activity_log').where('object_id', '=', String(product.id)).execute();
    await db.deleteFrom('products').where('id', '=', product.id).execute();
  });

  it('pruning leaves a checkpoint so the remaining chain still verifies, and revert still works after it', async () => {
    const { product } = await productWithHistory(3);
    const { db } = current().opened;
    const cutoff = new Date(Date.now() + 1000);
    const result = await pruneActivityLog(db, cutoff);
    expect(result.removed).toBeGreaterThan(0);
    await persistence.autoSave('Product', { id: product.id, quantity: 999 });
    const report = await verifyActivityLog(db, persistence.registry);
    expect(report.problems).toEqual([]);
    const { entries } = await persistence.activityLog.query({
      model: 'Product',
      objectId: String(product.id),
    });
    expect(entries.map((e) => e.version)).toEqual([4, 3]);
    expect(entries[1]?.checkpoint).toBe(true);
    const reverted = await persistence.revert('Product', product.id, 3);
    expect(reverted.record.quantity).toBe(30);
  });

  it('npm run activity:verify exits 1 naming the altered entry, 0 when intact', async () => {
    const { url } = current();
    const ok = await run(
      process.execPath,
      ['--import', 'tsx', 'packages/steadfast/src/cli/main.ts', 'activity', 'verify'],
      {
        env: { ...process.env, DATABASE_URL: url },
      },
    );
    expect(ok.stdout).toMatch(/ok: \d+ entries in \d+ chains verified/);

    const { entries } = await productWithHistory(2);
    const victim = entries[0];
    if (!victim) throw new Error('no entry');
    await current()
      .opened.db.updateTable('steadfast_activity_log')
      .set({ actor: 'mallory' })
      .where('id', '=', victim.id)
      .execute();
    const failed = await run(
      process.execPath,
      ['--import', 'tsx', 'packages/steadfast/src/cli/main.ts', 'activity', 'verify'],
      {
        env: { ...process.env, DATABASE_URL: url },
      },
    ).catch((error: { code: number; stdout: string }) => error);
    expect('code' in failed ? failed.code : 0).toBe(1);
    expect(failed.stdout).toContain(`entry ${victim.id} was altered`);
  });
});

describe('activity:prune command line', () => {
  it('refuses a missing or malformed --before', async () => {
    const failed = await run(
      process.execPath,
      ['--import', 'tsx', 'packages/steadfast/src/cli/main.ts', 'activity', 'prune', '--before', 'yesterday'],
      {
        env: { ...process.env, DATABASE_URL: 'sqlite::memory:' },
      },
    ).catch((error: { code: number; stderr: string }) => error);
    expect('code' in failed ? failed.code : 0).toBe(2);
    expect(failed.stderr).toMatch(/--before/);
    // A mistyped option is a usage error naming it, not a stack trace.
    const mistyped = await run(
      process.execPath,
      ['--import', 'tsx', 'packages/steadfast/src/cli/main.ts', 'activity', 'prune', '--befor', '2026-01-01'],
      { env: { ...process.env, DATABASE_URL: 'sqlite::memory:' } },
    ).catch((error: { code: number; stderr: string }) => error);
    expect('code' in mistyped ? mistyped.code : 0).toBe(2);
    expect(mistyped.stderr).toMatch(/Unknown option '--befor'[\s\S]*usage: steadfast/);
    expect(mistyped.stderr).not.toMatch(/at .*parse_args/);
  });
});
