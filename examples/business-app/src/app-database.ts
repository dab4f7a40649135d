/**
 * How the demo opens its database and builds its persistence layer, in one place for `main.ts`,
 * the scripts and the tests: Steadfast's tables with its sessions (the demo signs in with them),
 * then the demo's own tables, and a persistence manager that knows the demo's models.
 */
import {
  createPersistence,
  type OpenedDatabase,
  openDatabase,
  type Persistence,
  type PersistenceOptions,
} from 'steadfast/persistence';
import { migrateApp } from './migrations.js';
import { appModels } from './models.js';

export async function openAppDatabase(url: string): Promise<OpenedDatabase> {
  const database = await openDatabase(url, { sessions: true });
  try {
    await migrateApp(database.db);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

/** The demo's models: products, settings, and the users of Steadfast's sessions with their roles. */
export function createAppPersistence(options: PersistenceOptions): Persistence {
  return createPersistence({ ...options, models: [...appModels, ...(options.models ?? [])] });
}
