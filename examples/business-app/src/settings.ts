/**
 * App configuration (`app.<name>`) and each user's preferences (`user.<id>.<name>`), stored as
 * Setting records so every change goes through autoSave and is logged like any other record.
 */

import type { Persistence } from 'steadfast/persistence';
import { z } from 'zod';
import { reader } from './database-reader.js';

export const CURRENCIES = ['USD', 'EUR', 'GBP', 'CHF', 'JPY', 'CAD', 'AUD', 'SEK'] as const;
export const PAGE_SIZES = [10, 20, 50, 100] as const;
export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

export const appSettingsSchema = z.object({
  companyName: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
  currency: z.enum(CURRENCIES, 'must be one of the listed currencies'),
  lowStockThreshold: z.coerce
    .number('must be a whole number')
    .int('must be a whole number')
    .min(0, 'must be 0 or more')
    .max(1_000_000, 'must be at most 1,000,000'),
});
export type AppSettings = z.infer<typeof appSettingsSchema>;

export const userPreferencesSchema = z.object({
  pageSize: z.coerce
    .number()
    .refine((size) => (PAGE_SIZES as readonly number[]).includes(size), 'must be 10, 20, 50 or 100'),
  theme: z.enum(THEMES, 'must be system, light or dark'),
});
export type UserPreferences = z.infer<typeof userPreferencesSchema>;

export const DEFAULT_APP_SETTINGS: AppSettings = {
  companyName: 'Steadfast Supplies',
  currency: 'USD',
  lowStockThreshold: 5,
};

export const DEFAULT_USER_PREFERENCES: UserPreferences = { pageSize: 20, theme: 'system' };

/** Setting ids in the database, named after the form fields (snake case, as stored). */
const APP_KEYS: Record<keyof AppSettings, string> = {
  companyName: 'app.company_name',
  currency: 'app.currency',
  lowStockThreshold: 'app.low_stock_threshold',
};
const USER_KEYS: Record<keyof UserPreferences, string> = { pageSize: 'page_size', theme: 'theme' };

export function appSettingId(field: keyof AppSettings): string {
  return APP_KEYS[field];
}

export function userSettingId(userId: number, field: keyof UserPreferences): string {
  return `user.${userId}.${USER_KEYS[field]}`;
}

/** A group of settings with the version each was read at (0 when never saved). */
export interface VersionedSettings<T> {
  readonly values: T;
  readonly versions: Readonly<Record<keyof T, number>>;
}

async function readGroup<T extends Record<string, unknown>>(
  persistence: Persistence,
  ids: Record<keyof T, string>,
  schema: z.ZodType<T>,
  defaults: T,
): Promise<VersionedSettings<T>> {
  const fields = Object.keys(ids) as (keyof T)[];
  const rows = await reader(persistence)
    .selectFrom('settings')
    .select(['id', 'value', 'version'])
    .where(
      'id',
      'in',
      fields.map((field) => ids[field]),
    )
    .execute();
  const byId = new Map(rows.map((row) => [row.id, row]));
  const raw: Record<string, unknown> = {};
  const versions = {} as Record<keyof T, number>;
  for (const field of fields) {
    const row = byId.get(ids[field]);
    versions[field] = row ? Number(row.version) : 0;
    raw[field as string] = row ? parseStoredValue(row.value) : defaults[field];
  }
  // A stored value that no longer fits (edited by hand, older build) falls back to its default
  // rather than breaking every page.
  const values = { ...defaults };
  for (const field of fields) {
    const single = schema.safeParse({ ...defaults, [field]: raw[field as string] });
    if (single.success) values[field] = single.data[field];
  }
  return { values, versions };
}

function parseStoredValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function readAppSettings(persistence: Persistence): Promise<VersionedSettings<AppSettings>> {
  return readGroup(persistence, APP_KEYS, appSettingsSchema, DEFAULT_APP_SETTINGS);
}

export function readUserPreferences(
  persistence: Persistence,
  userId: number,
): Promise<VersionedSettings<UserPreferences>> {
  const ids = {
    pageSize: userSettingId(userId, 'pageSize'),
    theme: userSettingId(userId, 'theme'),
  };
  return readGroup(persistence, ids, userPreferencesSchema, DEFAULT_USER_PREFERENCES);
}

/**
 * Saves each field of a group through autoSave with the version it was read at; unchanged values
 * write and log nothing. A stale version throws ConflictError before anything of the group
 * commits (the caller's request transaction rolls back).
 */
async function saveGroup<T extends Record<string, unknown>>(
  persistence: Persistence,
  ids: Record<keyof T, string>,
  values: T,
  versions: Readonly<Record<keyof T, number>>,
): Promise<number> {
  let changed = 0;
  await persistence.withTransaction(async () => {
    for (const field of Object.keys(ids) as (keyof T)[]) {
      const result = await persistence.autoSave('Setting', {
        id: ids[field],
        value: JSON.stringify(values[field]),
        version: versions[field],
      });
      if (result.changed) changed += 1;
    }
  });
  return changed;
}

export function saveAppSettings(
  persistence: Persistence,
  values: AppSettings,
  versions: Readonly<Record<keyof AppSettings, number>>,
): Promise<number> {
  return saveGroup(persistence, APP_KEYS, values, versions);
}

export function saveUserPreferences(
  persistence: Persistence,
  userId: number,
  values: UserPreferences,
  versions: Readonly<Record<keyof UserPreferences, number>>,
): Promise<number> {
  const ids = {
    pageSize: userSettingId(userId, 'pageSize'),
    theme: userSettingId(userId, 'theme'),
  };
  return saveGroup(persistence, ids, values, versions);
}
