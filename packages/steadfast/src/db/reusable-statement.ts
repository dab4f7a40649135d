/**
 * A statement compiled once from an `sql` template and run again with new values. Kysely builds
 * and compiles a query tree on every call; for the few statements every save runs (read the
 * record, write it with its log entry) that was a fixed cost per save of the same size as running
 * them on SQLite. The template names its values by slot (`slot(0)`, `slot(1)`, …); compiling once
 * records which slot each of the dialect's parameters takes, so the SQL text never changes and
 * SQLite's statement cache prepares it once, and on PostgreSQL it is marked to run as a named prepared
 * statement (prepared-statements.ts), parsed and planned once per connection.
 */
import { CompiledQuery, type Kysely, type QueryResult, type RawBuilder, sql } from 'kysely';
import { executeCompiled } from './compiled-query.js';
import { dialectOf } from './dialect-name.js';
import { preparedSql } from './prepared-statements.js';

/** Stands for the value at `index` in the template; only ever compared by identity. */
class Slot {
  constructor(readonly index: number) {}
}

export type SlotOf = (index: number) => RawBuilder<unknown>;

export class ReusableStatement<Row> {
  #compiled: { readonly sql: string; readonly slots: readonly number[] } | undefined;

  constructor(private readonly template: (slot: SlotOf) => RawBuilder<unknown>) {}

  /** Runs the statement with `db` (a transaction or the database), slot `i` taking `values[i]`. */
  // biome-ignore lint/suspicious/noExplicitAny: any app's Kysely; the template names its tables.
  execute(db: Kysely<any>, values: readonly unknown[]): Promise<QueryResult<Row>> {
    const compiled = this.#compile(db);
    return executeCompiled<Row>(
      db,
      CompiledQuery.raw(
        compiled.sql,
        compiled.slots.map((index) => values[index]),
      ),
    );
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  #compile(db: Kysely<any>) {
    if (this.#compiled) return this.#compiled;
    const query = this.template((index) => sql`${new Slot(index)}`).compile(db);
    const slots = query.parameters.map((parameter) => {
      // A value written into the template itself would be frozen into every later run.
      if (!(parameter instanceof Slot)) throw new Error('ReusableStatement: every value must be a slot');
      return parameter.index;
    });
    this.#compiled = { sql: dialectOf(db) === 'postgres' ? preparedSql(query.sql) : query.sql, slots };
    return this.#compiled;
  }
}
