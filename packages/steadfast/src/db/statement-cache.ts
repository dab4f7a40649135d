/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs more than running a
 * small indexed statement. This wraps better-sqlite3 so each distinct SQL text is prepared once
 * (bounded, least recently used out). Safe because Kysely runs one SQLite query at a time.
 */
import type { Database as BetterSqliteDatabase, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

export function withStatementCache(database: BetterSqliteDatabase, capacity = 256): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        // Re-insert to mark it most recently used.
        cache.delete(sql);
      } else {
        statement = database.prepare(sql);
        if (cache.size >= capacity) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}
