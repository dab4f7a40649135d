/**
 * Inside a transaction, the statements the library compiled itself run straight on the
 * transaction's connection (compiled-query.ts): still inside the transaction, and still seen by
 * the app's Kysely `log` option.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, type LogEvent, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import type { AppDatabase } from '../../../examples/business-app/src/schema.js';
import { describeEachDatabase } from '../../support/databases.js';
import { createProduct } from '../../support/persistence-fixtures.js';

describeEachDatabase('statements compiled by the library', (current) => {
  /** The app's own Kysely over the test database, logging every query it runs. */
  const loggingKysely = (logged: string[]) => {
    const log = (event: LogEvent) => {
      if (event.level === 'query') logged.push(event.query.sql);
    };
    const { url, engine } = current();
    const dialect =
      engine === 'sqlite'
        ? new SqliteDialect({ database: new BetterSqlite3(url.slice('sqlite:'.length)) })
        : new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) });
    return new Kysely<AppDatabase>({ dialect, log });
  };

  it('run in the open transaction, on its connection, and the app’s query log sees them', async () => {
    const logged: string[] = [];
    const db = loggingKysely(logged);
    try {
      const persistence = createAppPersistence({ db });
      const product = await createProduct(persistence, { quantity: 1 });
      logged.length = 0;
      const undone = new Error('undo');
      await expect(
        persistence.withTransaction(async () => {
          await persistence.autoSave('Product', { id: product.id, quantity: 2 });
          await persistence.autoSave('Product', { id: product.id, quantity: 3 });
          throw undone;
        }),
      ).rejects.toBe(undone);
      // Both saves rolled back with the transaction: they ran in it.
      const stored = await db
        .selectFrom('products')
        .select(['quantity', 'version'])
        .where('id', '=', product.id as number)
        .executeTakeFirstOrThrow();
      expect(stored).toEqual({ quantity: 1, version: 1 });
      expect(
        logged.filter((text) =>
          /select "products"\.\*, \(select hash from steadfast_activity_log/.test(text),
        ),
      ).toHaveLength(2);
      expect(logged.filter((text) => /update "products"/.test(text))).toHaveLength(2);
    } finally {
      await db.destroy();
    }
  });
});
