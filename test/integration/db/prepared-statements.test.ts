/**
 * The statements every save runs go to PostgreSQL as named prepared statements (parsed once per
 * connection); SQLite prepares them once by text. On both, saves go on when the table under them
 * changes while the process runs (an app's migration adding a column).
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import type { AppDatabase } from '../../../examples/business-app/src/schema.js';
import {
  type Database,
  openDatabase,
  verifyActivityLog,
  withPreparedStatements,
} from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { createProduct } from '../../support/persistence-fixtures.js';

describeEachDatabase('prepared statements', (current) => {
  /** An app's own Kysely over a pg pool of one connection, wrapped to name the saves' statements. */
  const appKyselyOnOneConnection = () =>
    new Kysely<AppDatabase>({
      dialect: new PostgresDialect({
        pool: withPreparedStatements(new pg.Pool({ connectionString: current().url, max: 1 })),
      }),
    });

  it('runs a save through statements prepared on its connection (PostgreSQL: by name)', async () => {
    const { db } = current().opened;
    const persistence = createAppPersistence({ db });
    const product = await createProduct(persistence);
    const prepared = await persistence.withTransaction(async () => {
      await persistence.autoSave('Product', { id: product.id, quantity: 41 });
      if (current().engine === 'sqlite') return [];
      // The session's own prepared statements: the transaction's connection.
      const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(
        persistence.executor(),
      );
      return rows.map((row) => row.name);
    });
    if (current().engine === 'postgres') {
      // The read with its chain head, and the write with its log entry.
      expect(prepared.filter((name) => name.startsWith('steadfast_')).length).toBeGreaterThanOrEqual(2);
    }
    const again = await persistence.autoSave('Product', { id: product.id, quantity: 42 });
    expect(again.record.quantity).toBe(42);
  });

  it('runs the log’s multi-row inserts as prepared statements too (PostgreSQL: by name)', async () => {
    const { db } = current().opened;
    const persistence = createAppPersistence({ db });
    const inserts = await persistence.withTransaction(async () => {
      // A create's log entry goes in through the reusable multi-row insert, as a sync group's do.
      await createProduct(persistence);
      if (current().engine === 'sqlite') return [];
      const { rows } = await sql<{ name: string; statement: string }>`
        select name, statement from pg_prepared_statements`.execute(persistence.executor());
      return rows.filter((row) => /insert into "steadfast_activity_log"/i.test(row.statement));
    });
    if (current().engine === 'postgres') {
      expect(inserts.length).toBeGreaterThanOrEqual(1);
      for (const insert of inserts) expect(insert.name).toMatch(/^steadfast_/);
    }
  });

  it('runs a save or a delete outside a transaction again when its statements had gone stale, so that none fails', async () => {
    if (current().engine === 'sqlite') return;
    // One pooled connection: what is dropped behind the pool is dropped for the next save.
    const db = appKyselyOnOneConnection();
    try {
      const persistence = createAppPersistence({ db });
      const product = await createProduct(persistence);
      const other = await createProduct(persistence);
      await persistence.autoSave('Product', { id: product.id, quantity: 1 });
      await sql`deallocate all`.execute(db);
      const saved = await persistence.autoSave('Product', { id: product.id, quantity: 2 });
      expect(saved).toMatchObject({ version: 3, record: { quantity: 2 } });
      await sql`alter table products add column stale_note text not null default 'none'`.execute(db);
      const again = await persistence.autoSave('Product', { id: product.id, quantity: 3 });
      expect(again).toMatchObject({ version: 4, record: { quantity: 3, stale_note: 'none' } });
      await sql`deallocate all`.execute(db);
      await persistence.autoDelete('Product', other.id);
      // Each save and the delete wrote its log entry once: the failed attempt left nothing.
      const report = await verifyActivityLog(db as unknown as Kysely<Database>, persistence.registry);
      expect(report).toMatchObject({ ok: true });
      const { rows } = await sql<{ entries: string }>`select count(*) as entries from steadfast_activity_log
        where model = 'Product' and object_id = ${String(product.id)}`.execute(db);
      expect(Number(rows[0]?.entries)).toBe(4);
    } finally {
      await sql`alter table products drop column if exists stale_note`.execute(db).catch(() => {});
      await db.destroy();
    }
  });

  it('runs them unnamed when openDatabase is told not to prepare them (a pooler that cannot keep them)', async () => {
    if (current().engine === 'sqlite') return;
    const opened = await openDatabase(current().url, {
      migrate: false,
      poolSize: 1,
      preparedStatements: false,
    });
    try {
      const persistence = createAppPersistence({ db: opened.db });
      const product = await createProduct(persistence);
      await persistence.autoSave('Product', { id: product.id, quantity: 9 });
      const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(
        opened.db,
      );
      expect(rows.filter((row) => row.name.startsWith('steadfast_'))).toEqual([]);
    } finally {
      await opened.close();
    }
  });

  it('names them for an app’s own Kysely too, once its pool is wrapped', async () => {
    if (current().engine === 'sqlite') return;
    const db = appKyselyOnOneConnection();
    try {
      const persistence = createAppPersistence({ db });
      const product = await createProduct(persistence);
      await persistence.autoSave('Product', { id: product.id, quantity: 7 });
      // One connection: the session that ran the save is the one asked.
      const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(db);
      expect(rows.filter((row) => row.name.startsWith('steadfast_')).length).toBeGreaterThanOrEqual(2);
      // Any other query of the app goes as before, unnamed.
      expect(rows.every((row) => row.name.startsWith('steadfast_'))).toBe(true);
    } finally {
      await db.destroy();
    }
  });

  it('saves again, with the new column, once a column is added under statements already prepared', async () => {
    const { db } = current().opened;
    const persistence = createAppPersistence({ db });
    const product = await createProduct(persistence);
    for (let n = 1; n <= 3; n += 1) await persistence.autoSave('Product', { id: product.id, quantity: n });
    await sql`alter table products add column prepared_note text not null default 'none'`.execute(db);
    // PostgreSQL refuses a prepared `select *` whose columns changed; a save outside a transaction
    // is then run once more with its statements prepared afresh, so none fails.
    let failures = 0;
    let record: Record<string, unknown> | undefined;
    for (let n = 10; n < 16; n += 1) {
      try {
        record = (await persistence.autoSave('Product', { id: product.id, quantity: n })).record;
      } catch {
        failures += 1;
      }
    }
    expect(failures).toBe(0);
    expect(record).toMatchObject({ quantity: 15, prepared_note: 'none' });
  });

  it('saves again once the prepared statements were dropped behind the pool (DEALLOCATE ALL), inside the app’s transaction too', async () => {
    const { db } = current().opened;
    const persistence = createAppPersistence({ db });
    const product = await createProduct(persistence);
    await persistence.autoSave('Product', { id: product.id, quantity: 1 });
    if (current().engine === 'postgres') {
      // What a connection pooler's reset does: the client still believes its statements prepared.
      // The first save prepares on this transaction's connection, if it had not yet. The save that
      // meets the reset is rolled back to its savepoint and runs again, and the transaction commits.
      const inside = await persistence.withTransaction(async () => {
        await persistence.autoSave('Product', { id: product.id, quantity: 2 });
        await sql`deallocate all`.execute(persistence.executor());
        return persistence.autoSave('Product', { id: product.id, quantity: 4 });
      });
      expect(inside).toMatchObject({ version: 4, record: { quantity: 4 } });
    }
    const saved = await persistence.autoSave('Product', { id: product.id, quantity: 3 });
    expect(saved.record.quantity).toBe(3);
    expect(saved.version).toBe(current().engine === 'postgres' ? 5 : 3);
  });
});
