/**
 * Every row of every table, to prove that something refused wrote nothing: tables are listed from
 * the database itself (the app's, Steadfast's, the migrations' own), so a table added later is
 * covered without a change here. Rows are sorted by their JSON text, so the dump does not depend
 * on the order a database returns them in.
 */
import { type Kysely, sql } from 'kysely';
import { expect } from 'vitest';
import { dialectOf } from '../../packages/steadfast/src/persistence/index.js';

export type TableDump = Readonly<Record<string, readonly Record<string, unknown>[]>>;

const asText = (value: unknown) =>
  JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? String(v) : v));

// biome-ignore lint/suspicious/noExplicitAny: every table, whatever its type.
export async function dumpTables(db: Kysely<any>): Promise<TableDump> {
  const names =
    dialectOf(db) === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master
          where type = 'table' and name not like 'sqlite_%' order by name`.execute(db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(
          db,
        );
  const dump: Record<string, Record<string, unknown>[]> = {};
  for (const { name } of names.rows) {
    const rows = await db.selectFrom(name).selectAll().execute();
    dump[name] = (rows as Record<string, unknown>[])
      .map((row) => ({ row, text: asText(row) }))
      .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
      .map(({ row }) => row);
  }
  return dump;
}

/** The log rows of `after` that `before` did not have. */
function newLogRows(before: TableDump, after: TableDump): Record<string, unknown>[] {
  const known = new Set((before.steadfast_activity_log ?? []).map(asText));
  return (after.steadfast_activity_log ?? []).filter((row) => !known.has(asText(row)));
}

/**
 * Asserts that every table of `after` equals `before` but for refusals added to the log (action
 * `refused`, model `Refusal`), and returns those.
 */
export function expectOnlyRefusalsAdded(before: TableDump, after: TableDump): Record<string, unknown>[] {
  const added = newLogRows(before, after);
  for (const row of added)
    expect(row, 'a log entry other than a refusal was written').toMatchObject({
      action: 'refused',
      model: 'Refusal',
    });
  const refusals = new Set(added.map(asText));
  const withoutRefusals = {
    ...after,
    steadfast_activity_log: (after.steadfast_activity_log ?? []).filter((row) => !refusals.has(asText(row))),
  };
  expect(withoutRefusals).toEqual(before);
  return added;
}
