export type { DialectName } from './dialect-name.js';
export { DatabaseUrlError } from './errors.js';
export {
  type MigrationStatus,
  migrateSteadfast,
  migrationStatus,
  type OpenDatabaseOptions,
  type OpenedDatabase,
  openDatabase,
  parseDatabaseUrl,
  pendingMigrations,
  pingDatabase,
} from './open-database.js';
export type * from './schema.js';
