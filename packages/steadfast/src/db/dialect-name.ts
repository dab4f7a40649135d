/**
 * The two engines Steadfast runs on, told apart once from a Kysely instance's adapter, so no other
 * module needs an `instanceof` check of its own.
 */
import { type Kysely, PostgresAdapter, SqliteAdapter } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/** Thrown for a Kysely instance over an engine Steadfast does not support (MySQL, MSSQL, …). */
export class UnsupportedDialectError extends Error {
  readonly code = 'unsupported_dialect';
  override readonly name = 'UnsupportedDialectError';
}

// biome-ignore lint/suspicious/noExplicitAny: any app's Kysely instance, whatever its table types.
export function dialectOf(db: Kysely<any>): DialectName {
  const { adapter } = db.getExecutor();
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  if (adapter instanceof PostgresAdapter) return 'postgres';
  throw new UnsupportedDialectError(
    `Steadfast runs on SQLite (better-sqlite3) and PostgreSQL (pg); this Kysely instance uses ${adapter.constructor.name}`,
  );
}
