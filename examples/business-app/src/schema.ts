/**
 * The demo's own tables, beside Steadfast's (`steadfast_*`), declared once; Kysely checks the
 * demo's queries against them.
 */
import type { ColumnType, Generated, Selectable } from 'kysely';
import type { SteadfastSessionTables, SteadfastTables } from 'steadfast/persistence';
import type { Role } from './roles.js';

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

/** Steadfast's users, with the demo's `role` column (its migration 0002). */
export interface UsersTable {
  /** Defaults to `viewer` when a user is made without one. */
  role: ColumnType<Role, Role | undefined, Role>;
}

export interface AppDatabase extends SteadfastTables, SteadfastSessionTables {
  steadfast_users: SteadfastSessionTables['steadfast_users'] & UsersTable;
  products: ProductsTable;
  settings: SettingsTable;
}

export type ProductRow = Selectable<ProductsTable>;
export type SettingRow = Selectable<SettingsTable>;
