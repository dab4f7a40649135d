/**
 * An app's Kysely often carries plugins; CamelCasePlugin is the common one. Steadfast's statements
 * name tables and columns as the database does and read rows by those names, so they run without
 * the app's plugins, while the app's own queries, through `persistence.executor()`, keep them.
 * Before, every save of such an app failed its read-back verification (`created_at` came back as
 * `createdAt`).
 */
import { CamelCasePlugin, type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import type { AppDatabase } from '../../../examples/business-app/src/schema.js';
import { libraryKysely } from '../../../packages/steadfast/src/db/library-kysely.js';
import { verifyActivityLog } from '../../../packages/steadfast/src/persistence/index.js';
import { DRAFTS_PATH } from '../../../packages/steadfast/src/protocol/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import {
  buildTestApp,
  change,
  createTestUser,
  injectClient,
  newClientId,
  SYNC,
  signInAs,
} from '../../support/http-fixtures.js';
import { createProduct } from '../../support/persistence-fixtures.js';

describeEachDatabase('an app Kysely with plugins', (current) => {
  const camelCase = () =>
    current().opened.db.withPlugin(new CamelCasePlugin()) as unknown as Kysely<AppDatabase>;
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it('saves, bulk-saves, reverts and deletes through an app Kysely with CamelCasePlugin, and the log verifies', async () => {
    const persistence = createAppPersistence({ db: camelCase() });
    const product = await createProduct(persistence, { quantity: 1 });
    // Records keep the database's column names: the names a model lists.
    expect(product.created_at).toEqual(expect.any(String));
    const updated = await persistence.autoSave('Product', { id: product.id, quantity: 2 });
    expect(updated.record).toMatchObject({ quantity: 2, version: 2 });
    expect(updated.entry?.changes).toEqual({ quantity: [1, 2] });
    const [bulk] = await persistence.autoSaveBulk('Product', [{ id: product.id, quantity: 3 }]);
    expect(bulk?.record.version).toBe(3);
    const reverted = await persistence.revert('Product', product.id as number, 1);
    expect(reverted.record).toMatchObject({ quantity: 1, version: 4 });
    // Concurrent saves outside a transaction go through the batcher's shared transaction.
    const others = await Promise.all([createProduct(persistence), createProduct(persistence)]);
    await Promise.all(others.map((other) => persistence.autoSave('Product', { id: other.id, quantity: 9 })));
    await persistence.autoDelete('Product', product.id as number);
    const history = await persistence.activityLog.query({ model: 'Product', objectId: String(product.id) });
    expect(history.entries.map((entry) => entry.action)).toEqual([
      'delete',
      'revert',
      'update',
      'update',
      'create',
    ]);
    const report = await verifyActivityLog(current().opened.db, persistence.registry);
    expect(report.problems).toEqual([]);
  });

  it('keeps the app’s plugins on persistence.executor(): its own queries in withTransaction commit with the save', async () => {
    const persistence = createAppPersistence({ db: camelCase() });
    const product = await createProduct(persistence);
    const key = `app-plugins.${current().engine}.${Date.now()}`;
    await persistence.withTransaction(async () => {
      await persistence.autoSave('Product', { id: product.id, quantity: 77 });
      // camelCase names: only the app's CamelCasePlugin makes this query valid.
      await (
        persistence.executor() as Kysely<{
          settings: { id: string; value: string; version: number; updatedAt: string };
        }>
      )
        .insertInto('settings')
        .values({ id: key, value: '"x"', version: 1, updatedAt: new Date().toISOString() })
        .execute();
    });
    const { db } = current().opened as unknown as { db: Kysely<AppDatabase> };
    const stored = await db
      .selectFrom('settings')
      .select(['id', 'updated_at'])
      .where('id', '=', key)
      .executeTakeFirst();
    expect(stored?.updated_at).toEqual(expect.any(String));
    const saved = await db
      .selectFrom('products')
      .select('quantity')
      .where('id', '=', product.id as number)
      .executeTakeFirst();
    expect(saved?.quantity).toBe(77);
  });

  it('serves sign-in, sync and drafts to an app whose persistence runs on its CamelCasePlugin Kysely', async () => {
    const persistence = createAppPersistence({ db: camelCase() });
    const app = await buildTestApp(current(), { persistence });
    closers.push(() => app.close());
    const session = await signInAs(app, await createTestUser(persistence, 'camel'));
    const client = injectClient(app);
    const clientId = newClientId();
    const synced = await client.request({
      method: 'POST',
      url: SYNC,
      session,
      body: { clientId, changes: [change(1), change(2, { key: 'product-7' })] },
    });
    expect(synced.status).toBe(200);
    expect(synced.json).toMatchObject({ status: 'ok', synced: 2, lastMutationId: 2 });
    const drafts = await client.request({ method: 'GET', url: DRAFTS_PATH, session });
    expect(drafts.status).toBe(200);
    expect(JSON.stringify(drafts.json)).toContain('product-7');
  });
});

describe('libraryKysely', () => {
  it('drops every plugin of the app’s Kysely, withSchema’s too, and answers a plugin-free Kysely itself', async () => {
    const { createTestDatabase } = await import('../../support/databases.js');
    const database = await createTestDatabase('sqlite', { migrate: false });
    try {
      const db = database.opened.db as unknown as Kysely<{ app_table: { some_column: string } }>;
      expect(libraryKysely(db)).toBe(db);
      const appDb = db.withSchema('tenant').withPlugin(new CamelCasePlugin());
      const own = libraryKysely(appDb);
      expect(own.getExecutor().plugins).toEqual([]);
      // As the library's `sql` templates compile, which withSchema never qualified.
      expect(own.selectFrom('app_table').select('some_column').compile().sql).toBe(
        'select "some_column" from "app_table"',
      );
      expect(
        sql`select ${sql.ref('app_table.some_column')} from ${sql.table('app_table')}`.compile(own).sql,
      ).toBe('select "app_table"."some_column" from "app_table"');
    } finally {
      await database.drop();
    }
  });
});
