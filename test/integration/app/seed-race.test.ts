/**
 * Two processes starting at once on one fresh database both seed it: the loser of the race must
 * retry and add nothing, not crash the process.
 */
import { expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { seedDatabase } from '../../../examples/business-app/src/seed.js';
import { openDatabase } from '../../../packages/steadfast/src/db/index.js';
import { verifyActivityLog } from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';

describeEachDatabase('seeding from two processes at once', (current) => {
  it('seeds once: one user of each role, one catalogue, one set of settings, a log that verifies', async () => {
    // A second, separate connection (pool or file handle), as a second process would have.
    const second = await openDatabase(current().url, { migrate: false });
    try {
      const reports = await Promise.all([
        seedDatabase(createAppPersistence({ db: current().opened.db }), { demoData: true }),
        seedDatabase(createAppPersistence({ db: second.db }), { demoData: true }),
      ]);
      const { db } = current().opened;
      const users = await db.selectFrom('steadfast_users').select('username').orderBy('username').execute();
      expect(users.map((u) => u.username)).toEqual(['demo', 'editor', 'viewer']);
      const products = await db.selectFrom('products').select('id').execute();
      expect(products).toHaveLength(36);
      expect(reports.map((r) => r.productsCreated).sort()).toEqual([0, 36]);
      const report = await verifyActivityLog(db, createAppPersistence({ db }).registry);
      expect(report.problems).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
