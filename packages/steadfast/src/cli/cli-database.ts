/**
 * The database a command-line script works on: DATABASE_URL, else the app's default SQLite file.
 * Scripts are entry points, so they (and src/app/main.ts) are the only code reading process.env.
 */
import { type OpenedDatabase, openDatabase } from '../db/index.js';

export const DEFAULT_DATABASE_URL = 'sqlite:./data/app.db';

export function openCliDatabase(): Promise<OpenedDatabase> {
  return openDatabase(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL);
}

/** Prints a usage error and exits 2, the shell's convention for bad arguments. */
export function usageError(message: string): never {
  console.error(message);
  process.exit(2);
}
