/**
 * The app's Kysely as Steadfast's own statements run on it: without the app's plugins, except the
 * schema a `withSchema` call set (Kysely implements that as a plugin too).
 *
 * Steadfast names tables and columns as the database does (its own tables, and the columns a
 * model lists), and reads rows by those names. A plugin that renames them would rename them under
 * the code that reads them: with CamelCasePlugin, every save of an app failed its read-back
 * verification (`created_at` came back as `createdAt`). The app's own queries keep its plugins:
 * `persistence.executor()` answers its Kysely, in the open transaction.
 */
import { type Kysely, WithSchemaPlugin } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: any app's Kysely, whatever its table types.
export function libraryKysely<K extends Kysely<any>>(db: K): K {
  const { plugins } = db.getExecutor();
  if (plugins.length === 0) return db;
  let own = db.withoutPlugins() as K;
  // Re-added in their order: with every other plugin gone, none comes before them.
  for (const plugin of plugins) if (plugin instanceof WithSchemaPlugin) own = own.withPlugin(plugin) as K;
  return own;
}
