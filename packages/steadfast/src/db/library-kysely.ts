/**
 * The app's Kysely as Steadfast's own statements run on it: without the app's plugins.
 *
 * Steadfast names tables and columns as the database does (its own tables, and the columns a
 * model lists), and reads rows by those names. A plugin that renames them would rename them under
 * the code that reads them: with CamelCasePlugin, every save of an app failed its read-back
 * verification (`created_at` came back as `createdAt`). The app's own queries keep its plugins:
 * `persistence.executor()` answers its Kysely, in the open transaction.
 *
 * `withSchema` is a plugin too, and goes with the rest: most of Steadfast's statements are
 * compiled once from `sql` templates, which that plugin does not qualify, so keeping it would send
 * some statements to the schema and others to the search path. Tables are found by the
 * connection's search path (README, "Your tables").
 */
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: any app's Kysely, whatever its table types.
export function libraryKysely<K extends Kysely<any>>(db: K): K {
  return db.getExecutor().plugins.length === 0 ? db : (db.withoutPlugins() as K);
}
