/**
 * `steadfast/persistence`: the persistence manager (verified, versioned saves with a hash-chained
 * ActivityLog written in the same transaction), its models and errors, and the database helpers
 * (open, migrate, verify and prune the log).
 */

export { type DialectName, dialectOf, UnsupportedDialectError } from '../db/dialect-name.js';
export { DatabaseUrlError } from '../db/errors.js';
export {
  type MigrateOptions,
  type MigrationStatus,
  migrateSteadfast,
  migrationStatus,
  type OpenDatabaseOptions,
  type OpenedDatabase,
  openDatabase,
  parseDatabaseUrl,
  pendingMigrations,
  pingDatabase,
} from '../db/open-database.js';
export {
  type PreparingPool,
  type PreparingPoolClient,
  withPreparedStatements,
} from '../db/prepared-statements.js';
export type {
  ActivityLogRow,
  Database,
  DraftRow,
  SteadfastSessionTables,
  SteadfastTables,
  UserRow,
} from '../db/schema.js';
export { addVersionColumn } from '../db/version-column.js';
export {
  type ActivityBounds,
  DEFAULT_ACTIVITY_BOUNDS,
  isTruncatedValue,
  type TruncatedValue,
} from './activity-bounds.js';
export {
  ACTIVITY_ACTIONS,
  type ActivityAction,
  type ActivityEntry,
  type FieldChanges,
  hashEntry,
} from './activity-entry.js';
export {
  type ChainProblem,
  type ChainReport,
  type PruneResult,
  pruneActivityLog,
  verifyActivityLog,
} from './activity-integrity.js';
export {
  ActivityLog,
  type ActivityPage,
  type ActivityQuery,
  type ActivityViewer,
  activityQuerySchema,
  MAX_PAGE_SIZE,
  type RecordAtOptions,
  type RecordAtVersion,
} from './activity-log.js';
export type { PrivateRecords } from './activity-visibility.js';
export {
  AUTHORIZE_ACTIONS,
  type Authorize,
  type AuthorizeAction,
  type AuthorizeDecision,
  type AuthorizeRefusal,
  type AuthorizeRequest,
  Authorizer,
  REFUSAL_MODEL,
  REFUSED_ACTION,
} from './authorize.js';
export { ChangeTracker, type TrackedChange } from './change-tracker.js';
export { type Clock, systemClock } from './clock.js';
export {
  createPersistence,
  type Persistence,
  type PersistenceOptions,
  type RevertOptions,
} from './create-persistence.js';
export { defineModel, ModelDefinitionError } from './define-model.js';
export {
  ConflictError,
  ForbiddenError,
  isStorageUnavailable,
  NotFoundError,
  PersistenceError,
  type PersistenceErrorCode,
  StorageUnavailableError,
  UnknownModelError,
  ValidationError,
  VerificationError,
} from './errors.js';
export { type ModelDefinition, ModelRegistry, REDACTED } from './model-registry.js';
export {
  type DeleteResult,
  type PersistenceHooks,
  type PersistenceLogger,
  PersistenceManager,
  type RecordValues,
  type SaveOptions,
  type SaveResult,
  type StoredRecord,
} from './persistence-manager.js';
export type {
  BaseStatus,
  FieldAuthor,
  RecordWithBase,
  StaleMerge,
} from './stale-merge.js';
export { type Actor, type Executor, SYSTEM_ACTOR, TransactionContext } from './transaction-context.js';
export { userModel } from './user-model.js';
