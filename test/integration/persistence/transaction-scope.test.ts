/** TransactionContext.openScope: a transaction opened and ended from outside (Fastify hooks). */
import { beforeAll, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import type { Persistence } from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { productValues, snapshotTables } from '../../support/persistence-fixtures.js';

describeEachDatabase('transaction scope', (current) => {
  let persistence: Persistence;
  beforeAll(() => {
    persistence = createAppPersistence({ db: current().opened.db });
  });

  it('joins saves made inside enter() to the transaction and commits them, then runs onCommit', async () => {
    const calls: string[] = [];
    const scope = await persistence.context.openScope(
      { actor: '7', requestId: 'r-1', ip: '10.0.0.1' },
      { transaction: true },
    );
    const { record } = await scope.enter(async () => {
      expect(persistence.context.inTransaction()).toBe(true);
      persistence.onCommit(() => calls.push('committed'));
      return persistence.autoSave('Product', productValues());
    });
    expect(calls).toEqual([]);
    expect(scope.open).toBe(true);
    await scope.commit();
    expect(scope.open).toBe(false);
    expect(calls).toEqual(['committed']);
    const { entries } = await persistence.activityLog.query({
      model: 'Product',
      objectId: String(record.id),
    });
    expect(entries[0]).toMatchObject({ actor: '7', requestId: 'r-1', ip: '10.0.0.1' });
  });

  it('undoes everything and drops onCommit on rollback', async () => {
    const before = await snapshotTables(current().opened.db);
    const calls: string[] = [];
    const scope = await persistence.context.openScope({ actor: '7' }, { transaction: true });
    await scope.enter(async () => {
      persistence.onCommit(() => calls.push('never'));
      await persistence.autoSave('Product', productValues());
      await persistence.autoSave('Product', productValues());
    });
    await scope.rollback();
    await scope.commit(); // settled already: a no-op
    expect(calls).toEqual([]);
    expect(await snapshotTables(current().opened.db)).toEqual(before);
  });

  it('sends work of a frame that outlived its transaction to the root database', async () => {
    const scope = await persistence.context.openScope({ actor: '8' }, { transaction: true });
    let late: Promise<unknown> | undefined;
    scope.enter(() => {
      late = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(persistence.context.inTransaction()).toBe(false);
        return persistence.autoSave('Product', productValues({ name: 'After commit' }));
      })();
    });
    await scope.commit();
    await late;
    const row = await current()
      .opened.db.selectFrom('products')
      .select('name')
      .where('name', '=', 'After commit')
      .executeTakeFirst();
    expect(row?.name).toBe('After commit');
  });

  it('gives a non-transactional scope the actor only', async () => {
    const scope = await persistence.context.openScope({ actor: '9' });
    expect(scope.transactional).toBe(false);
    const actor = scope.enter(() => persistence.context.actor());
    expect(actor.actor).toBe('9');
    expect(scope.enter(() => persistence.context.inTransaction())).toBe(false);
  });

  it('refuses to open a transactional scope inside an open transaction', async () => {
    await persistence.withTransaction(async () => {
      await expect(persistence.context.openScope({ actor: '1' }, { transaction: true })).rejects.toThrow(
        /already open/,
      );
    });
  });
});
