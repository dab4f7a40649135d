/** Health of the server side: the database answers and its schema is current. */
import type { Kysely } from 'kysely';
import { type MigrateOptions, pendingMigrations, pingDatabase } from '../db/open-database.js';
import type { Database } from '../db/schema.js';

export interface HealthReport {
  readonly status: 'ok' | 'unavailable';
  readonly database: 'up' | 'down';
  readonly migrations: 'current' | 'pending' | 'unknown';
  readonly pending?: readonly string[];
  readonly message?: string;
}

/** Never throws: a database that is down is a report, not an error. */
export async function checkHealth(
  db: Kysely<Database>,
  migrations: MigrateOptions = {},
  timeoutMs = 3000,
): Promise<HealthReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([pingDatabase(db), timeout]);
  } catch (error) {
    clearTimeout(timer);
    return {
      status: 'unavailable',
      database: 'down',
      migrations: 'unknown',
      message: error instanceof Error ? error.message : String(error),
    };
  }
  clearTimeout(timer);
  try {
    const pending = await pendingMigrations(db, migrations);
    return pending.length === 0
      ? { status: 'ok', database: 'up', migrations: 'current' }
      : { status: 'unavailable', database: 'up', migrations: 'pending', pending };
  } catch (error) {
    return {
      status: 'unavailable',
      database: 'up',
      migrations: 'unknown',
      message: error instanceof Error ? error.message : String(error),
    };
  }
}
