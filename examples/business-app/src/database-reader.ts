import type { Kysely } from 'kysely';
import type { Database, Persistence } from 'steadfast/persistence';

/**
 * The executor to read with: the request's open transaction when there is one. Reading through
 * the root database inside a write request would deadlock on SQLite (its one connection is held
 * by the transaction), so every page query goes through here.
 */
export function reader(persistence: Persistence): Kysely<Database> {
  return persistence.executor();
}
