/**
 * The database's table types, declared once; Kysely checks every query against them.
 *
 * Both dialects store times as ISO-8601 UTC text (`2026-11-25T12:00:00.000Z`): it sorts
 * lexicographically, reads the same on SQLite and PostgreSQL, and avoids pg's local-time-zone
 * parsing of `timestamp`. Booleans are 0/1 integers for the same reason.
 */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  username: string;
  display_name: string;
  password_hash: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  sid: string;
  user_id: number | null;
  /** The session object as JSON. */
  data: string;
  /** Epoch milliseconds; sessions past it are ignored and swept. */
  expires_at: number;
}

export interface DraftsTable {
  /** The owner's id as text: the app's own sign-in may use numbers, UUIDs or any other string. */
  user_id: string;
  kind: string;
  key: string;
  /** JSON text. */
  data: string;
  base_version: number | null;
  saved_at: string;
  updated_at: string;
}

export interface ClientMutationsTable {
  client_id: string;
  /** The owner's id as text, like DraftsTable.user_id. */
  user_id: string;
  last_mutation_id: number;
  updated_at: string;
}

export interface ActivityLogTable {
  id: Generated<number>;
  created_at: string;
  actor: string;
  action: string;
  model: string;
  object_id: string;
  /** JSON `{field: [before, after]}`; secret fields read `"[changed]"`. */
  changes: string;
  /** JSON of the record's tracked fields after the change (before it, for a delete). */
  snapshot: string;
  request_id: string | null;
  ip: string | null;
  version: number;
  /** Hash of the previous entry of the same record, or null for the first. */
  prev_hash: string | null;
  hash: string;
  /** 1 when older entries of this record were pruned and this entry starts its chain. */
  checkpoint: ColumnType<number, number | undefined, number>;
}

/**
 * Steadfast's own tables, every name prefixed `steadfast_` so that none can collide with an
 * app's. The app's tables are its own business: models name them at run time.
 */
export interface SteadfastTables {
  steadfast_drafts: DraftsTable;
  steadfast_sync_clients: ClientMutationsTable;
  steadfast_activity_log: ActivityLogTable;
}

/** The tables of Steadfast's optional sign-in (users and database sessions), created only when used. */
export interface SteadfastSessionTables {
  steadfast_users: UsersTable;
  steadfast_sessions: SessionsTable;
}

export interface Database extends SteadfastTables, SteadfastSessionTables {}

export type UserRow = Selectable<UsersTable>;
export type DraftRow = Selectable<DraftsTable>;
export type ActivityLogRow = Selectable<ActivityLogTable>;
export type NewActivityLogRow = Insertable<ActivityLogTable>;
