/**
 * The database's table types, declared once; Kysely checks every query against them.
 *
 * Both dialects store times as ISO-8601 UTC text (`2026-11-25T12:00:00.000Z`): it sorts
 * lexicographically, reads the same on SQLite and PostgreSQL, and avoids pg's local-time-zone
 * parsing of `timestamp`. Booleans are 0/1 integers for the same reason.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

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

export interface ProductsTable {
  id: Generated<number>;
  sku: string;
  name: string;
  description: string;
  /** Decimal string such as "500.00": exact, never a float. */
  price: string;
  quantity: number;
  category: string;
  active: number;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface SettingsTable {
  /** `app.<name>` for app configuration, `user.<userId>.<name>` for a user's preference. */
  id: string;
  /** The setting's value as JSON text. */
  value: string;
  version: number;
  updated_at: string;
}

export interface DraftsTable {
  user_id: number;
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
  user_id: number;
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

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  products: ProductsTable;
  settings: SettingsTable;
  drafts: DraftsTable;
  client_mutations: ClientMutationsTable;
  activity_log: ActivityLogTable;
}

export type UserRow = Selectable<UsersTable>;
export type ProductRow = Selectable<ProductsTable>;
export type SettingRow = Selectable<SettingsTable>;
export type DraftRow = Selectable<DraftsTable>;
export type ActivityLogRow = Selectable<ActivityLogTable>;
export type NewActivityLogRow = Insertable<ActivityLogTable>;
export type ProductUpdate = Updateable<ProductsTable>;
