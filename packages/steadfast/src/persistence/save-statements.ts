/**
 * The statements a save runs, each compiled once per model and set of columns (ReusableStatement)
 * and run again with new values: read the record with its chain head, write it, and on
 * PostgreSQL write its log entry in the same statement.
 *
 * On PostgreSQL an update and its log entry are one data-modifying CTE:
 *
 *   with written as (update … where key = $k and version = $v returning *),
 *        entry as (insert into steadfast_activity_log … select … from written returning id)
 *   select written.*, entry.id from written, entry
 *
 * One round trip instead of three (write, read back, log), and the log row exists only if the
 * version-checked update matched: both or neither, within the one statement.
 *
 * Why RETURNING is the read-back. The row RETURNING reports is the row version the update stored,
 * computed after everything PostgreSQL does to a row on its way in: the columns' input conversion
 * and typmods (numeric scale, varchar length), defaults, generated columns, and BEFORE ROW triggers,
 * which are where PostgreSQL lets a trigger change the row being written (by returning a changed
 * NEW). A SELECT of the row right after the statement reads that same row version, with one
 * exception: an AFTER trigger (or a statement-level one) that writes the row again runs once the
 * statement's rows are written, and RETURNING does not see that second write. So the statement
 * also answers whether the table has such a trigger (the catalog row of the table RETURNING names,
 * read in the same statement), and only then does the save read the row back as before. The
 * values come back through the same driver conversion as a SELECT's, so the comparison in the
 * persistence manager is the one it always made.
 *
 * SQLite has no data-modifying CTEs, and its RETURNING reports the row before AFTER triggers
 * (the only triggers that can change a row there) ran, so on SQLite the write, the read-back and
 * the log insert stay three statements, in the same process and without a round trip each.
 */
import { type RawBuilder, sql } from 'kysely';
import type { DialectName } from '../db/dialect-name.js';
import { ReusableStatement, type SlotOf } from '../db/reusable-statement.js';
import type { NewActivityLogRow } from '../db/schema.js';
import { ENTRY_COLUMNS } from './change-tracker.js';
import type { ModelDefinition } from './model-registry.js';
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
const TABLE_OID = '__steadfast_table';
const ENTRY_ID = '__steadfast_entry_id';
const REWRITABLE = '__steadfast_rewritable';

/** pg_trigger.tgtype bits (PostgreSQL's trigger.h). */
const TRIGGER_TYPE = { before: 2, insert: 4, update: 16, instead: 64 } as const;

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
   * Updates the record to `set` if it is still at `currentVersion`, and writes `entry` in the same
   * statement when given (PostgreSQL only). Undefined when the record is no longer at that version
   * (nothing written).
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
    const assignments = (slot: SlotOf) =>
      sql.join(columns.map((column, index) => sql`${sql.id(column)} = ${slot(index)}`));
    const matches = (slot: SlotOf) =>
      sql`${sql.id(primaryKey)} = ${slot(columns.length)} and version = ${slot(columns.length + 1)}`;
    const shape = `${table}\u0000${columns.join(',')}`;
    if (entry && !this.#postgres)
      throw new Error('SaveStatements: SQLite writes a log entry in a statement of its own');
    if (!entry) {
      const statement = this.#statement(
        `update\u0000${shape}`,
        (slot) => sql`update ${sql.table(table)} set ${assignments(slot)} where ${matches(slot)}`,
      );
      const result = await statement.execute(executor, values);
      return Number(result.numAffectedRows) === 1 ? { key, row: undefined, entryId: undefined } : undefined;
    }
    const statement = this.#statement(`update-and-log\u0000${shape}`, (slot) =>
      withLogEntries(
        sql`update ${sql.table(table)} set ${assignments(slot)} where ${matches(slot)}
          returning ${sql.table(table)}.*, ${sql.table(table)}.tableoid as ${sql.id(TABLE_OID)}`,
        sql`json_populate_record(null::steadfast_activity_log, ${slot(columns.length + 2)})`,
        TRIGGER_TYPE.update,
      ),
    );
    const [stored] = (await statement.execute(executor, [...values, JSON.stringify(entry)])).rows;
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
    const statement = this.#statement(`update-many-and-log\u0000${table}\u0000${columns.join(',')}`, (slot) =>
      withLogEntries(
        // Typed by the table's own row type: each value converts as a plain UPDATE's parameter would.
        sql`update ${sql.table(table)} as t
          set ${sql.join([...columns.map((column) => sql`${sql.id(column)} = v.${sql.id(column)}`), sql`version = v.version + 1`])}
          from json_populate_recordset(null::${sql.table(table)}, ${slot(0)}) as v
          where t.${sql.id(primaryKey)} = v.${sql.id(primaryKey)} and t.version = v.version
          returning t.*, t.tableoid as ${sql.id(TABLE_OID)}`,
        sql`json_populate_recordset(null::steadfast_activity_log, ${slot(1)})`,
        TRIGGER_TYPE.update,
        // Each entry to its record's row: the entries of one batch name distinct records.
        sql`cast(written.${sql.id(primaryKey)} as text) = entry.object_id`,
      ),
    );
    const result = await statement.execute(executor, [JSON.stringify(rows), JSON.stringify(entries)]);
    return result.rows.map((row) => storedRow(row, primaryKey));
  }

  /** Inserts a new record: on PostgreSQL answering the row stored (RETURNING, see above), on SQLite its key. */
  async insert(executor: Executor, definition: ModelDefinition, row: Readonly<Row>): Promise<StoredRow> {
    const { table, primaryKey } = definition;
    const columns = Object.keys(row);
    const values = columns.map((column) => row[column]);
    const shape = `${table}\u0000${columns.join(',')}`;
    const insert = (slot: SlotOf, returning: RawBuilder<unknown>) =>
      sql`insert into ${sql.table(table)} (${sql.join(columns.map((column) => sql.id(column)))})
        values (${sql.join(columns.map((_, index) => slot(index)))}) returning ${returning}`;
    if (!this.#postgres) {
      const statement = this.#statement(`insert\u0000${shape}`, (slot) => insert(slot, sql.id(primaryKey)));
      const [inserted] = (await statement.execute(executor, values)).rows;
      return { key: inserted?.[primaryKey], row: undefined, entryId: undefined };
    }
    const statement = this.#statement(
      `insert\u0000${shape}`,
      (
        slot,
      ) => sql`with written as (${insert(slot, sql`${sql.table(table)}.*, ${sql.table(table)}.tableoid as ${sql.id(TABLE_OID)}`)})
        select written.*, ${rewritableBy(TRIGGER_TYPE.insert)} as ${sql.id(REWRITABLE)} from written`,
    );
    const [inserted] = (await statement.execute(executor, values)).rows;
    return storedRow(inserted ?? {}, primaryKey);
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

/**
 * `write` (returning the rows it stored and their table's oid) and the log rows of `entries`
 * (inserted only if the write stored a row), in one statement answering each stored row with its
 * entry's id and whether the table has a trigger that may write the row again.
 */
function withLogEntries(
  write: RawBuilder<unknown>,
  entries: RawBuilder<unknown>,
  event: number,
  pairing: RawBuilder<unknown> = sql`true`,
): RawBuilder<unknown> {
  const columns = sql.join(ENTRY_COLUMNS.map((column) => sql.id(column)));
  const entryColumns = sql.join(ENTRY_COLUMNS.map((column) => sql`e.${sql.id(column)}`));
  return sql`with written as (${write}),
    entry as (
      insert into steadfast_activity_log (${columns})
      select ${entryColumns} from ${entries} as e where exists (select from written)
      returning id, object_id
    )
    select written.*, entry.id as ${sql.id(ENTRY_ID)}, ${rewritableBy(event)} as ${sql.id(REWRITABLE)}
    from written join entry on ${pairing}`;
}

/**
 * Whether the written row's table has a trigger firing on `event` after the row is written (not
 * BEFORE, not INSTEAD OF; row or statement level), which RETURNING would not see. Internal
 * triggers (foreign keys) never write the row.
 */
function rewritableBy(event: number): RawBuilder<boolean> {
  return sql<boolean>`exists (select from pg_catalog.pg_trigger g
    where g.tgrelid = written.${sql.id(TABLE_OID)} and not g.tgisinternal
      and g.tgtype & ${sql.lit(TRIGGER_TYPE.before | TRIGGER_TYPE.instead)} = 0
      and g.tgtype & ${sql.lit(event)} <> 0)`;
}

function storedRow(stored: Row, primaryKey: string): StoredRow {
  const { [TABLE_OID]: _table, [ENTRY_ID]: entryId, [REWRITABLE]: rewritable, ...row } = stored;
  return {
    key: row[primaryKey],
    row: rewritable === false ? row : undefined,
    entryId: entryId === undefined || entryId === null ? undefined : Number(entryId),
  };
}
