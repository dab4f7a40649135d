/**
 * Errors a write meets, as callers are to see them: database outages as StorageUnavailableError,
 * constraint violations as ValidationErrors naming the field.
 */

import {
  isStorageUnavailable,
  PersistenceError,
  StorageUnavailableError,
  ValidationError,
} from './errors.js';
import type { ModelDefinition } from './model-registry.js';

/** Database outages become StorageUnavailableError; our own errors pass as they are. */
export function asPersistenceError(error: unknown): unknown {
  if (error instanceof PersistenceError) return error;
  if (isStorageUnavailable(error)) {
    return new StorageUnavailableError('the database is unavailable', { cause: error });
  }
  return error;
}

/** Turns constraint violations into ValidationErrors naming the field. */
export async function mapWriteError<T>(definition: ModelDefinition, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const info = describeConstraintViolation(error);
    if (info) throw new ValidationError(`${definition.name}: ${info.message}`, info.field);
    throw error;
  }
}

/**
 * Recognises unique / not-null / check violations from either engine. Driver errors carry a code
 * but name the column only in their text, so this reads the text, at this one boundary.
 */
function describeConstraintViolation(error: unknown): { message: string; field?: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = String((error as { code?: unknown }).code ?? '');
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const field = /: \w+\.(\w+)/.exec(error.message)?.[1];
    return { message: `${field ?? 'a unique field'} is already taken`, field };
  }
  if (code === '23505') {
    const detail = String((error as { detail?: unknown }).detail ?? '');
    const field = /Key \((\w+)\)/.exec(detail)?.[1];
    return { message: `${field ?? 'a unique field'} is already taken`, field };
  }
  if (code === 'SQLITE_CONSTRAINT_NOTNULL' || code === '23502') {
    const field =
      /: \w+\.(\w+)/.exec(error.message)?.[1] ??
      String((error as { column?: unknown }).column ?? '') ??
      undefined;
    return { message: `${field || 'a field'} is required`, field: field || undefined };
  }
  return undefined;
}
