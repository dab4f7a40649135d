// The app's own migrations, with Kysely's Migrator as the app already used it. The invoices table
// predates Steadfast: the second migration gives it the version column Steadfast checks.
import { Migrator, sql } from 'kysely';
import { addVersionColumn } from 'steadfast/persistence';

const migrations = {
  '001_invoices': {
    async up(db) {
      await db.schema
        .createTable('invoices')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('customer', 'text', (c) => c.notNull())
        .addColumn('amount', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo(sql`'draft'`))
        .execute();
    },
  },
  '002_invoices_version': {
    async up(db) {
      await addVersionColumn(db, 'invoices');
    },
  },
};

export async function migrate(db) {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}
