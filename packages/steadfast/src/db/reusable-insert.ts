/**
 * A multi-row insert compiled once per chunk size and run again with new parameters. Kysely's
 * builder parses and compiles every value of every row on each call; for the sync endpoint's log
 * entries (hundreds per group commit) that was about 7% of its CPU. Rows go in chunks whose sizes
 * are powers of two, so any number of rows takes at most log2(maxRows) + 1 statements drawn from a
 * handful of SQL texts, each also prepared only once: by SQLite's statement cache, and on PostgreSQL
 * as a named prepared statement (prepared-statements.ts) once per connection.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import { executeCompiled } from './compiled-query.js';
import { dialectOf } from './dialect-name.js';
import { preparedSql } from './prepared-statements.js';

/** A chunk size's SQL, and whether it answers the ids itself (a single row on SQLite does not). */
interface ChunkSql {
  readonly sql: string;
  readonly returning: boolean;
}

export class ReusableInsert<Table extends string, Row extends object> {
  /** SQL by chunk size, for callers that want the ids and for those that do not: per instance, so per database and dialect. */
  readonly #sqlBySize = { ids: new Map<number, ChunkSql>(), none: new Map<number, ChunkSql>() };

  /**
   * @param maxRows largest chunk, a power of two; `maxRows × columns` must stay under the
   *   engine's parameter limit (SQLite 32,766, PostgreSQL 65,535).
   */
  constructor(
    private readonly table: Table,
    private readonly columns: ReadonlyArray<keyof Row & string>,
    private readonly maxRows = 512,
  ) {
    if (!Number.isInteger(Math.log2(maxRows)))
      throw new Error('ReusableInsert: maxRows must be a power of two');
  }

  /** Inserts `rows` with `db` (a transaction or the database) and answers their generated ids, in order. */
  async execute(db: Kysely<Record<Table, Row>>, rows: readonly Row[]): Promise<Array<{ id: unknown }>> {
    const ids: Array<{ id: unknown }> = [];
    await this.#insert(db, rows, true, (compiled, result) => {
      if (compiled.returning) ids.push(...result.rows);
      else ids.push({ id: result.insertId });
    });
    return ids;
  }

  /**
   * Inserts `rows` like `execute`, for a caller that needs no ids: without `returning id`, which
   * cost SQLite about a fifth of each row's insert (the group commit's log entries).
   */
  async run(db: Kysely<Record<Table, Row>>, rows: readonly Row[]): Promise<void> {
    await this.#insert(db, rows, false, () => {});
  }

  async #insert(
    db: Kysely<Record<Table, Row>>,
    rows: readonly Row[],
    wantIds: boolean,
    onChunk: (compiled: ChunkSql, result: { rows: Array<{ id: unknown }>; insertId?: bigint }) => void,
  ): Promise<void> {
    for (let start = 0; start < rows.length; ) {
      let size = this.maxRows;
      while (size > rows.length - start) size /= 2;
      const parameters: unknown[] = [];
      for (let index = start; index < start + size; index += 1) {
        const row = rows[index] as Row;
        for (const column of this.columns) parameters.push(row[column]);
      }
      const compiled = this.#sqlFor(db, size, wantIds);
      onChunk(
        compiled,
        await executeCompiled<{ id: unknown }>(db, CompiledQuery.raw(compiled.sql, parameters)),
      );
      start += size;
    }
  }

  /**
   * The builder's own SQL for `size` rows, compiled from rows of marker values and checked to
   * take its parameters row by row in column order, the order `#insert` passes them in. Ids are
   * asked back only when wanted, and not for one row on SQLite: a statement that returns rows costs
   * SQLite more than one that does not, and the id of the one row an INSERT wrote is its last insert
   * rowid (a trigger's inserts do not change it once the statement is done)
   * [sqlite.org/c3ref/last_insert_rowid.html].
   */
  #sqlFor(db: Kysely<Record<Table, Row>>, size: number, wantIds: boolean): ChunkSql {
    const cache = wantIds ? this.#sqlBySize.ids : this.#sqlBySize.none;
    const cached = cache.get(size);
    if (cached) return cached;
    const markers = Array.from({ length: size }, (_, row) =>
      Object.fromEntries(this.columns.map((column) => [column, `${row}:${column}`])),
    );
    const returning = wantIds && (size > 1 || dialectOf(db) !== 'sqlite');
    // biome-ignore lint/suspicious/noExplicitAny: rows of marker strings stand in for any row type.
    const insert = (db as Kysely<any>).insertInto(this.table).values(markers);
    const compiled = (returning ? insert.returning('id') : insert).compile();
    const expected = markers.flatMap((row) => this.columns.map((column) => row[column]));
    if (
      compiled.parameters.length !== expected.length ||
      compiled.parameters.some((parameter, index) => parameter !== expected[index])
    ) {
      throw new Error(`ReusableInsert: ${this.table} does not compile to row-major parameters`);
    }
    // On PostgreSQL a named prepared statement: a 512-row insert is parsed once per connection.
    const sql = dialectOf(db) === 'postgres' ? preparedSql(compiled.sql) : compiled.sql;
    const chunk = { sql, returning };
    cache.set(size, chunk);
    return chunk;
  }
}
