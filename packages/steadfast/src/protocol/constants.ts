/**
 * Wire-level constants of the sync protocol, shared by the browser service and the server.
 * This file imports nothing so the browser bundle can use it without pulling in zod.
 */

/** Version of the sync protocol. Bump it (and keep the old route) if the wire format must change. */
export const SYNC_PROTOCOL_VERSION = 1;

export const SYNC_PATH = '/api/autosave/sync/';
export const DRAFTS_PATH = '/api/autosave/drafts/';
/**
 * `GET ?key=<draft key>&version=<base version>`: the record a stale draft is merged against, as it
 * was at that version and as it is now (`BaseResponse`). 200 with `status` `found`, `pruned` or
 * `unknown`; 404 when the key names no existing record.
 */
export const BASE_PATH = '/api/autosave/base/';

/** Header a script sends the CSRF token in; pages carry it in `<meta name="csrf-token">`. */
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_META = 'csrf-token';
export const USER_META = 'autosave-user';

/** Most changes one sync request may carry. */
export const MAX_CHANGES_PER_BATCH = 500;
/**
 * Largest record id and version there can be: they are PostgreSQL `integer` columns, and a larger
 * number in a query fails there (a 500) where SQLite would find nothing.
 */
export const MAX_STORED_INTEGER = 2_147_483_647;
/** Longest draft or state key. */
export const MAX_KEY_LENGTH = 200;
/** Deepest nesting accepted inside a change's `data`. */
export const MAX_DATA_DEPTH = 16;
/**
 * Largest sync body the server accepts (bytes). Kept above the browser's 64 KiB keepalive
 * in-flight limit so ordinary batches always fit, and small enough to refuse abuse early.
 */
export const MAX_SYNC_BODY_BYTES = 1024 * 1024;
/** Browsers refuse keepalive requests whose bodies in flight add up to more than 64 KiB. */
export const KEEPALIVE_BODY_LIMIT_BYTES = 64 * 1024;

export const CHANGE_KINDS = ['form', 'state'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export const CHANGE_RESULT_STATUSES = ['applied', 'duplicate', 'stale'] as const;
export type ChangeResultStatus = (typeof CHANGE_RESULT_STATUSES)[number];

/** Stable error codes of the HTTP API, each mapped to one status code. */
export const API_ERROR_CODES = {
  invalid_request: 400,
  unauthenticated: 401,
  csrf_invalid: 403,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  mutation_gap: 409,
  payload_too_large: 413,
  /** A user's drafts would pass their count or total size (`limits.draftsPerUser`, `limits.draftBytesPerUser`). */
  quota_exceeded: 413,
  rate_limited: 429,
  storage_unavailable: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERROR_CODES;
