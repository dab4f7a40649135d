/**
 * The statements a save runs, each compiled once per model and set of columns (ReusableStatement)
 * and run again with new values: read the record with its chain head; write it, answering the row
 * as stored; and on PostgreSQL write its log entry in the same statement:
 *
 *   with entry as (insert into steadfast_activity_log … values (…) returning id)
 *   update … set … where key = $k and version = $v
 *   returning *, (select id from entry), <whether the table has triggers>
 *
 * One round trip where there were three (write, read back, log). The entry is inserted whether or
 * not the version check matched: a save whose update matched nothing throws, and the transaction
 * (or savepoint) it runs in takes the entry back with it. Measured per statement, this shape costs
 * the server less than the update and insert as CTEs joined in a final SELECT, and about what the
 * three statements it replaces cost apart.
 *
 * Why RETURNING is the read-back. The row RETURNING reports is the row version the statement
 * stored, computed after everything the database does to a row on its way in: the columns' input
 * conversion and typmods (numeric scale, varchar length), defaults, generated columns, and on
 * PostgreSQL BEFORE ROW triggers, which are where a PostgreSQL trigger changes the row being
 * written (by returning a changed NEW) [PostgreSQL manual, "Returning Data from Modified Rows"].
 * A SELECT right after the statement reads that same row version, except when a trigger writes
 * the row again once the statement's own write is done (an AFTER trigger, the only kind that can
 * change a row on SQLite, whose RETURNING reports the row before AFTER triggers run
 * [sqlite.org/lang_returning.html]). So each write also answers whether its table has any
 * trigger at all (PostgreSQL: pg_class.relhastriggers, which also counts a foreign key's internal
 * triggers; SQLite: sqlite_schema), read in the same statement, and only on a table that has one
 * is the row read back in a statement of its own, as before. The values come back through the same
 * driver conversion as a SELECT's, so the comparison the persistence manager makes is the one it
 * always made. test/integration/persistence/save-statements.test.ts rewrites a row in an AFTER
 * trigger on both engines and sees the save refused.
 */
import { type RawBuilder, sql } from 'kysely';
import type { DialectName } from '../db/dialect-name.js';
import { ReusableStatement, type SlotOf } from '../db/reusable-statement.js';
import type { NewActivityLogRow } from '../db/schema.js';
import { ENTRY_COLUMNS } from './change-tracker.js';
import type { ModelDefinition } from './model-registry.js';
import { readManyWithHead } from './record-reads.js';
import type { Executor } from './transaction-context.js';

type Row = Record<string, unknown>;

/** What a save's write stored. */
export interface StoredRow {
  /** The record's key (the generated one, for an insert). */
  readonly key: unknown;
  /**
   * The row as stored, when the statement could report it; undefined when it must be read back in
   * a statement of its own: on SQLite, and on PostgreSQL for a table with a trigger that may write
   * the row again after RETURNING reported it.
   */
  readonly row: Readonly<Row> | undefined;
  /** The id of the log entry written with it, when the same statement wrote one. */
  readonly entryId: number | undefined;
}

/** Columns our statements add to a row, removed before anyone sees it. */
const HEAD_HASH = '__steadfast_head_hash';
const ENTRY_ID = '__steadfast_entry_id';
const TRIGGERS = '__steadfast_triggers';

export class SaveStatements {
  readonly #postgres: boolean;
  readonly #statements = new Map<string, ReusableStatement<Row>>();

  constructor(dialect: DialectName) {
    this.#postgres = dialect === 'postgres';
  }

  /** One round trip for the row and its chain head: a save's first read. */
  async readWithHead(
    executor: Executor,
    definition: ModelDefinition,
    key: unknown,
  ): Promise<{ row: Row; headHash: string | null } | undefined> {
    const { table, primaryKey } = definition;
    const statement = this.#statement(`read\u0000${table}`, (slot) => {
      const head = sql`(select hash from steadfast_activity_log
        where model = ${slot(0)} and object_id = ${slot(1)} order by id desc limit 1)`;
      return sql`select ${sql.table(table)}.*, ${head} as ${sql.id(HEAD_HASH)}
        from ${sql.table(table)} where ${sql.ref(`${table}.${primaryKey}`)} = ${slot(2)}`;
    });
    const found = (await statement.execute(executor, [definition.name, String(key), key])).rows[0];
    if (!found) return undefined;
    const { [HEAD_HASH]: headHash, ...row } = found;
    return { row, headHash: (headHash as string | null | undefined) ?? null };
  }

  /**
   * Many records of one model with their chain heads, in one query, by key text: a batch's read.
   * On PostgreSQL the keys go as one array, so the text is the same for any number of them and the
   * statement is prepared once; SQLite has no arrays, and prepares each length of key list once.
   */
  async readManyWithHead(
    executor: Executor,
    definition: ModelDefinition,
    keys: ReadonlyArray<string | number>,
  ): Promise<Map<string, { row: Row; headHash: string | null }>> {
    if (!this.#postgres) return readManyWithHead(executor, definition, keys);
    const { table, primaryKey } = definition;
    const statement = this.#statement(`read-many\u0000${table}`, (slot) => {
      const key = sql.ref(`${table}.${primaryKey}`);
      const head = sql`(select hash from steadfast_activity_log
        where model = ${slot(0)} and object_id = cast(${key} as text) order by id desc limit 1)`;
      return sql`select ${sql.table(table)}.*, ${head} as ${sql.id(HEAD_HASH)}
        from ${sql.table(table)} where ${key} = any(${slot(1)})`;
    });
    const { rows } = await statement.execute(executor, [definition.name, keys]);
    const byKey = new Map<string, { row: Row; headHash: string | null }>();
    for (const found of rows) {
      const { [HEAD_HASH]: headHash, ...row } = found;
      byKey.set(String(row[primaryKey]), { row, headHash: (headHash as string | null | undefined) ?? null });
    }
    return byKey;
  }

  /** The row as a SELECT reads it now, within the transaction. */
  async readBack(executor: Executor, definition: ModelDefinition, key: unknown): Promise<Row | undefined> {
    const { table, primaryKey } = definition;
    const statement = this.#statement(
      `read-back\u0000${table}`,
      (slot) => sql`select * from ${sql.table(table)} where ${sql.id(primaryKey)} = ${slot(0)}`,
    );
    return (await statement.execute(executor, [key])).rows[0];
  }

  /**
   * Updates the record to `set` if it is still at `currentVersion` and answers the row stored, and
   * writes `entry` in the same statement when given (PostgreSQL only). Undefined when the record is
   * no longer at that version: nothing of it written, but an `entry` given was, and the caller must
   * roll back.
   */
  async update(
    executor: Executor,
    definition: ModelDefinition,
    key: unknown,
    currentVersion: number,
    set: Readonly<Row>,
    entry: NewActivityLogRow | undefined,
  ): Promise<StoredRow | undefined> {
    const { table, primaryKey } = definition;
    const columns = Object.keys(set);
    const values = [...columns.map((column) => set[column]), key, currentVersion];
    if (entry && !this.#postgres)
      throw new Error('SaveStatements: SQLite writes a log entry in a statement of its own');
    const shape = `${entry ? 'update-and-log' : 'update'}\u0000${table}\u0000${columns.join(',')}`;
    const statement = this.#statement(shape, (slot) => {
      const update = sql`update ${sql.table(table)}
        set ${sql.join(columns.map((column, index) => sql`${sql.id(column)} = ${slot(index)}`))}
        where ${sql.id(primaryKey)} = ${slot(columns.length)} and version = ${slot(columns.length + 1)}
        returning *, ${this.#triggers(table)} as ${sql.id(TRIGGERS)}`;
      if (!entry) return update;
      const entryValues = ENTRY_COLUMNS.map((_, index) => slot(columns.length + 2 + index));
      return sql`with entry as (
          insert into steadfast_activity_log (${sql.join(ENTRY_COLUMNS.map((column) => sql.id(column)))})
          values (${sql.join(entryValues)}) returning id
        )
        ${update}, (select id from entry) as ${sql.id(ENTRY_ID)}`;
    });
    const parameters = entry ? [...values, ...ENTRY_COLUMNS.map((column) => entry[column])] : values;
    const [stored] = (await statement.execute(executor, parameters)).rows;
    return stored && storedRow(stored, primaryKey);
  }

  /**
   * PostgreSQL: updates many records of one model and one set of columns, each only if still at
   * the version it was read at (`rows` carry the key, the values and that version), and writes
   * their log entries, in one statement. Answers the rows it stored, each with its entry's id: fewer
   * rows than given means a record moved, and the caller must roll back.
   */
  async updateManyAndLog(
    executor: Executor,
    definition: ModelDefinition,
    columns: readonly string[],
    rows: readonly Row[],
    entries: readonly NewActivityLogRow[],
  ): Promise<StoredRow[]> {
    const { table, primaryKey } = definition;
    const entryColumns = (prefix: string) =>
      sql.join(ENTRY_COLUMNS.map((column) => sql.raw(`${prefix}"${column}"`)));
    const statement = this.#statement(
      `update-many-and-log\u0000${table}\u0000${columns.join(',')}`,
      (slot) => {
        const assignments = [
          ...columns.map((column) => sql`${sql.id(column)} = v.${sql.id(column)}`),
          sql`version = v.version + 1`,
        ];
        // Typed by the tables' own row types: each value converts as a plain statement's parameter would.
        return sql`with written as (
          update ${sql.table(table)} as t set ${sql.join(assignments)}
          from json_populate_recordset(null::${sql.table(table)}, ${slot(0)}) as v
          where t.${sql.id(primaryKey)} = v.${sql.id(primaryKey)} and t.version = v.version
          returning t.*, ${this.#triggers(table, sql.raw('t'))} as ${sql.id(TRIGGERS)}
        ),
        entry as (
          insert into steadfast_activity_log (${entryColumns('')})
          select ${entryColumns('e.')} from json_populate_recordset(null::steadfast_activity_log, ${slot(1)}) as e
          returning id, object_id
        )
        select written.*, entry.id as ${sql.id(ENTRY_ID)}
        from written join entry on cast(written.${sql.id(primaryKey)} as text) = entry.object_id`;
      },
    );
    const result = await statement.execute(executor, [JSON.stringify(rows), JSON.stringify(entries)]);
    return result.rows.map((row) => storedRow(row, primaryKey));
  }

  /** Inserts a new record and answers the row stored (see above for when it is to be read back). */
  async insert(executor: Executor, definition: ModelDefinition, row: Readonly<Row>): Promise<StoredRow> {
    const { table, primaryKey } = definition;
    const columns = Object.keys(row);
    const statement = this.#statement(
      `insert\u0000${table}\u0000${columns.join(',')}`,
      (slot) => sql`insert into ${sql.table(table)} (${sql.join(columns.map((column) => sql.id(column)))})
        values (${sql.join(columns.map((_, index) => slot(index)))})
        returning *, ${this.#triggers(table)} as ${sql.id(TRIGGERS)}`,
    );
    const values = columns.map((column) => row[column]);
    const [inserted] = (await statement.execute(executor, values)).rows;
    return storedRow(inserted ?? {}, primaryKey);
  }

  /**
   * Whether the table written has any trigger, as a column of the write's RETURNING. PostgreSQL:
   * its pg_class row's `relhastriggers`, by the row's own `tableoid` (of `target`, the table or its
   * alias). SQLite: its triggers in sqlite_schema, by name, written into the statement as a literal
   * (each statement is compiled for one table), so no value of a write is bound for it.
   */
  #triggers(table: string, target: RawBuilder<unknown> = sql.table(table)): RawBuilder<unknown> {
    if (this.#postgres) {
      return sql`(select c.relhastriggers from pg_catalog.pg_class c where c.oid = ${target}.tableoid)`;
    }
    return sql`exists (select 1 from sqlite_schema where type = 'trigger' and tbl_name = ${sql.lit(table)} collate nocase)`;
  }

  #statement(key: string, template: (slot: SlotOf) => RawBuilder<unknown>): ReusableStatement<Row> {
    let statement = this.#statements.get(key);
    if (!statement) {
      statement = new ReusableStatement<Row>(template);
      this.#statements.set(key, statement);
    }
    return statement;
  }
}

function storedRow(stored: Row, primaryKey: string): StoredRow {
  const { [ENTRY_ID]: entryId, [TRIGGERS]: triggers, ...row } = stored;
  return {
    key: row[primaryKey],
    // PostgreSQL answers false, SQLite 0: a table with no trigger, whose row RETURNING reported.
    row: triggers === false || triggers === 0 ? row : undefined,
    entryId: entryId === undefined || entryId === null ? undefined : Number(entryId),
  };
}
