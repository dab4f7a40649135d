/**
 * Steadfast's optimistic version check needs an integer `version` column on every table it saves;
 * an existing table gets one with this, from the app's own migration.
 */
import { type Kysely, sql } from 'kysely';

/**
 * Adds `version integer not null default 1` to an existing table: every row starts at version 1,
 * which the first tracked save moves to 2.
 *
 * @example
 * // in the app's migration
 * export async function up(db: Kysely<any>) { await addVersionColumn(db, 'invoices') }
 */
// biome-ignore lint/suspicious/noExplicitAny: the app's Kysely, typed with the app's own tables.
export async function addVersionColumn(db: Kysely<any>, table: string): Promise<void> {
  await db.schema
    .alterTable(table)
    .addColumn('version', 'integer', (column) => column.notNull().defaultTo(sql`1`))
    .execute();
}
