/**
 * Every failure the persistence layer raises, each with a stable `code`. The HTTP layer maps
 * codes to status codes in one place; nothing matches on message text.
 */

export type PersistenceErrorCode =
  | 'validation_failed'
  | 'conflict'
  | 'verification_failed'
  | 'not_found'
  | 'unknown_model'
  | 'forbidden'
  | 'storage_unavailable';

export abstract class PersistenceError extends Error {
  abstract readonly code: PersistenceErrorCode;
}

/** Values that do not fit the model: nothing was written. `field` names the first bad one. */
export class ValidationError extends PersistenceError {
  readonly code = 'validation_failed';
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * The record moved past the version the caller started from (or another writer won the race):
 * nothing was written. `current` is the record as it now stands, so a UI can show both.
 */
export class ConflictError extends PersistenceError {
  readonly code = 'conflict';
  override readonly name = 'ConflictError';
  constructor(
    readonly model: string,
    readonly objectId: string,
    readonly expectedVersion: number | undefined,
    readonly currentVersion: number | undefined,
    readonly current: Readonly<Record<string, unknown>> | undefined,
  ) {
    super(
      currentVersion === undefined
        ? `${model} ${objectId} was deleted by someone else`
        : `${model} ${objectId} is at version ${currentVersion}, not ${expectedVersion ?? 'the version read'}`,
    );
  }
}

/** The row read back after the write differs from what was written: rolled back. */
export class VerificationError extends PersistenceError {
  readonly code = 'verification_failed';
  override readonly name = 'VerificationError';
  constructor(
    readonly model: string,
    readonly objectId: string,
    readonly field: string,
    readonly expected: unknown,
    readonly actual: unknown,
  ) {
    super(
      `${model} ${objectId}: field "${field}" read back as ${JSON.stringify(actual)}, wrote ${JSON.stringify(expected)}`,
    );
  }
}

export class NotFoundError extends PersistenceError {
  readonly code = 'not_found';
  override readonly name = 'NotFoundError';
}

export class UnknownModelError extends PersistenceError {
  readonly code = 'unknown_model';
  override readonly name = 'UnknownModelError';
  constructor(readonly model: string) {
    super(`no model named "${model}" is registered`);
  }
}

/**
 * The `authorize` hook refused the action (see authorize.ts): nothing was written. `action`,
 * `model` and `objectId` name what was refused; the message is the hook's reason, or a sentence
 * naming the action. The HTTP layer answers it 403 `forbidden`.
 */
export class ForbiddenError extends PersistenceError {
  readonly code = 'forbidden';
  override readonly name = 'ForbiddenError';
  constructor(
    /** An AuthorizeAction: `create`, `update`, `delete`, `revert`, `sync` or `read-log`. */
    readonly action: string,
    /** The model refused; undefined for a query of the whole log. */
    readonly model: string | undefined,
    readonly objectId: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The database could not be reached or refused the connection: retry later. */
export class StorageUnavailableError extends PersistenceError {
  readonly code = 'storage_unavailable';
  override readonly name = 'StorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08003',
  '08006',
]);

/** True when an error means "the database is not there right now" rather than "this is wrong". */
export function isStorageUnavailable(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  // Extended codes: SQLITE_IOERR_FSYNC, SQLITE_BUSY_SNAPSHOT (another process wrote first), …
  if (typeof code === 'string' && (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_BUSY')))
    return true;
  return /Connection terminated|connection timeout|driver has already been destroyed|The database connection is not open|Cannot use a pool after calling end/i.test(
    error.message,
  );
}
