/**
 * PostgreSQL named prepared statements for the few statements every save runs (its read, its
 * write with its log entry, a batch's read, the log's multi-row inserts). Kysely's
 * PostgresDialect sends each query unnamed, so the server parses and plans it anew on every run;
 * for a save's read and its write-with-log that was about half the server's CPU per save (443 µs
 * against 222 µs named, tracked_save bench). A statement marked here (`preparedSql`) is sent by
 * name instead: parsed once per connection, and after a few runs planned once too (PostgreSQL's
 * plan cache chooses a generic plan for a statement whose custom plans cost no less).
 *
 * The mark is a comment at the head of the SQL text, so that nothing but the text travels from
 * the statement to the pool: `withPreparedStatements(pool)` names what carries it and passes
 * everything else through untouched. Without the wrapper (an app's own pool) the comment is only
 * a comment.
 *
 * A prepared statement can go stale on its connection: a table's columns changed under a
 * `select *` (PostgreSQL refuses with "cached plan must not change result type", 0A000), or the
 * statement was deallocated behind the client's back (DISCARD ALL, 26000). The query that meets
 * it fails as any query would, and every later run goes out under new names, prepared afresh. The
 * persistence manager then runs the save, delete or revert that met it once more
 * (isStalePreparedStatement), once its writes were rolled back (its own transaction, or its
 * savepoint in the app's), so it does not fail.
 */
import { hash } from 'node:crypto';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

const MARK = '/* steadfast:prepared */ ';

/**
 * Most distinct statements one pool names; past it, a marked statement runs unnamed. A model's save
 * marks a few, and the log's inserts one per power-of-two chunk size (reusable-insert.ts).
 */
const MAX_NAMED = 256;

/** SQLSTATE of a statement name the server does not know (deallocated behind the client's back). */
const UNKNOWN_STATEMENT = '26000';
/**
 * SQLSTATE feature_not_supported, which PostgreSQL raises for a cached plan whose result type
 * changed, and for much else; told apart by the server function that raised it, which PostgreSQL
 * sends with every error (pg: `routine`).
 */
const FEATURE_NOT_SUPPORTED = '0A000';
const STALE_PLAN_ROUTINE = 'RevalidateCachedQuery';

/**
 * Whether `error` is PostgreSQL refusing a prepared statement gone stale (see above): the work that
 * met it, run again in a new transaction, prepares its statements afresh. Any other
 * feature_not_supported error is not run again (it would only fail again, after running the
 * work's hooks twice); one that names no routine (a proxy that drops it) is taken as stale.
 */
export function isStalePreparedStatement(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, routine } = error as { code?: unknown; routine?: unknown };
  if (code === UNKNOWN_STATEMENT) return true;
  return code === FEATURE_NOT_SUPPORTED && (routine === undefined || routine === STALE_PLAN_ROUTINE);
}

/** `sql`, marked to be run as a named prepared statement by a pool that knows the mark. */
export function preparedSql(sql: string): string {
  return MARK + sql;
}

/**
 * A node-postgres `Pool`, as far as withPreparedStatements uses it. Written here rather than taken
 * from pg's types: pg is an optional peer, and an SQLite app's compiler need not find them.
 */
export interface PreparingPool {
  connect(): Promise<PreparingPoolClient>;
  end(): Promise<void>;
}

/** A node-postgres `PoolClient`, as far as withPreparedStatements uses it. */
export interface PreparingPoolClient {
  query<R>(sql: string, parameters: unknown[]): Promise<PostgresQueryResult<R>>;
  query<R>(config: { text: string; name: string; values: unknown[] }): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  release(destroy?: boolean): void;
}

/**
 * `pool` for Kysely's PostgresDialect, running each marked statement as a named prepared
 * statement (parsed once per connection) and every other query as before. `openDatabase` uses it
 * on PostgreSQL; an app that makes its own Kysely gives its saves the same by wrapping its pool.
 *
 * @example
 * const db = new Kysely<AppDatabase>({
 *   dialect: new PostgresDialect({ pool: withPreparedStatements(new pg.Pool({ connectionString })) }),
 * });
 */
export function withPreparedStatements(pool: PreparingPool): PostgresPool {
  const names = new Map<string, string>();
  // Bumped when a prepared statement went stale: every statement is then prepared again, by a new name.
  let generation = 0;
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < MAX_NAMED) {
      name = `steadfast_${hash('sha1', text, 'hex').slice(0, 24)}_${generation}`;
      names.set(text, name);
    }
    return name;
  };
  const stale = () => {
    generation += 1;
    names.clear();
  };
  const clients = new WeakMap<PreparingPoolClient, PostgresPoolClient>();
  const wrap = (client: PreparingPoolClient): PostgresPoolClient => {
    let wrapped = clients.get(client);
    if (wrapped) return wrapped;
    function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query<R>(
      sqlOrCursor: string | PostgresCursor<R>,
      parameters?: ReadonlyArray<unknown>,
    ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
      if (typeof sqlOrCursor !== 'string') {
        return client.query(sqlOrCursor);
      }
      // Kysely hands every query a fresh copy of its parameters (PostgresConnection.executeQuery).
      const values = (parameters ?? []) as unknown[];
      const name = sqlOrCursor.startsWith(MARK) ? nameOf(sqlOrCursor) : undefined;
      if (name === undefined) {
        return client.query<R>(sqlOrCursor, values);
      }
      return client.query<R>({ text: sqlOrCursor, name, values }).catch((error: unknown) => {
        if (isStalePreparedStatement(error)) stale();
        throw error;
      });
    }
    wrapped = { query, release: (destroy?: boolean) => client.release(destroy) };
    clients.set(client, wrapped);
    return wrapped;
  };
  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}
