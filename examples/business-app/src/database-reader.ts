import type { Kysely } from 'kysely';
import type { Persistence } from 'steadfast/persistence';
import type { AppDatabase } from './schema.js';

/**
 * The executor to read with: the request's open transaction when there is one. Reading through
 * the root database inside a write request would deadlock on SQLite (its one connection is held
 * by the transaction), so every page query goes through here.
 */
export function reader(persistence: Persistence): Kysely<AppDatabase> {
  // The persistence manager types only Steadfast's tables; the demo's are its own (schema.ts).
  return persistence.executor() as unknown as Kysely<AppDatabase>;
}
