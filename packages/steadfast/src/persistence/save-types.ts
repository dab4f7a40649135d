/**
 * The types every part of a save shares: what a caller passes and gets back (exported to callers
 * by persistence-manager.ts), the hooks run at each step of a save, and SaveServices, the
 * dependencies the PersistenceManager hands its save pipeline and batched saves.
 */
import type { ActivityAction, ActivityEntry } from './activity-entry.js';
import type { Authorizer } from './authorize.js';
import type { ChangeTracker, TrackedChange } from './change-tracker.js';
import type { Clock } from './clock.js';
import type { ModelRegistry } from './model-registry.js';
import type { SaveStatements } from './save-statements.js';
import type { TransactionContext } from './transaction-context.js';

export type RecordValues = Readonly<Record<string, unknown>>;
export type StoredRecord = Readonly<Record<string, unknown>>;

export interface SaveOptions {
  /**
   * The version the caller's copy was read at. When the record is no longer at it, the save fails
   * with a ConflictError and writes nothing. A `version` key in the values means the same.
   */
  readonly expectedVersion?: number;
  /** Logged action; defaults to `create` or `update`. */
  readonly action?: Extract<ActivityAction, 'revert' | 'sync'>;
}

export interface SaveResult {
  /** The record as read back from the database after the write. */
  readonly record: StoredRecord;
  readonly created: boolean;
  /** False when the values matched the record already: nothing written, nothing logged. */
  readonly changed: boolean;
  readonly version: number;
  readonly entry: ActivityEntry | null;
}

export interface DeleteResult {
  /** The record's last state. */
  readonly record: StoredRecord;
  readonly entry: ActivityEntry;
}

/** The step a hook runs at; a hook that throws aborts the save and rolls everything back. */
export interface SaveStep {
  readonly model: string;
  readonly objectId: string | undefined;
  readonly values: RecordValues;
}

/** Extension points at each step of a save (validation rules, fault injection in tests). */
export interface PersistenceHooks {
  beforeWrite?(step: SaveStep): void | Promise<void>;
  afterWrite?(step: SaveStep): void | Promise<void>;
  afterVerify?(step: SaveStep): void | Promise<void>;
  beforeLog?(changes: readonly TrackedChange[]): void | Promise<void>;
}

export interface PersistenceLogger {
  info(message: string): void;
}

/**
 * What the save pipeline works with, built once by the PersistenceManager and handed down whole, so
 * that every part of a save sees the same statements, transaction context and hooks.
 */
export interface SaveServices {
  readonly statements: SaveStatements;
  readonly registry: ModelRegistry;
  readonly context: TransactionContext;
  readonly tracker: ChangeTracker;
  readonly clock: Clock;
  /** Empty when none were given. */
  readonly hooks: PersistenceHooks;
  readonly logger: PersistenceLogger | undefined;
  /** Only when the `authorize` option is on; none: everything is allowed. */
  readonly authorizer: Authorizer | undefined;
  /**
   * PostgreSQL without hooks: an update and its log entry go in one statement (see
   * save-statements.ts). Hooks run between the steps of a save, so with hooks each step is a
   * statement of its own, and on SQLite they are anyway.
   */
  readonly logInWrite: boolean;
  /**
   * With hooks, a save reads its row back in a statement of its own after `afterWrite`, as a hook
   * may expect; without, it takes the row its write answered when it could (save-statements.ts).
   */
  readonly readBackAlways: boolean;
}
