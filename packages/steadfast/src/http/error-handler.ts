/**
 * The one place where errors become HTTP answers: every error, ours, the persistence layer's,
 * Fastify's, Express's body parser's, maps to a status and a `{error, message}` body. Bad input is
 * always a 4xx; only a fault of the server itself answers 500, with a message that leaks nothing.
 * Both adapters answer their errors through it (adapters/fastify/error-handler.ts, and the Express
 * router's error middleware), so no framework is imported here.
 */
import { isStorageUnavailable, PersistenceError } from '../persistence/errors.js';
import { ApiError } from '../sync/api-error.js';

/** Seconds a client should wait before retrying when the database is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

export interface ApiErrorResponse {
  readonly status: number;
  readonly body: { readonly error: string; readonly message: string } & Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

interface KnownError {
  readonly status: number;
  readonly error: string;
  /** The answer's message in place of the error's own, where the two frameworks word one case apart. */
  readonly message?: string;
}

/** A body either framework refused to read, worded once: both adapters answer it alike. */
const BODY_TOO_LARGE: KnownError = {
  status: 413,
  error: 'payload_too_large',
  message: 'The request body is larger than this server accepts.',
};
const BODY_NOT_JSON: KnownError = { status: 400, error: 'invalid_request', message: 'body: not valid JSON.' };
const BODY_EMPTY: KnownError = {
  status: 400,
  error: 'invalid_request',
  message: 'body: empty; send a JSON object.',
};

/** Codes of Fastify's and its plugins' errors that need a status (or wording) other than their own. */
const FRAMEWORK_CODES: Readonly<Record<string, KnownError>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: BODY_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, error: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, error: 'invalid_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: BODY_EMPTY,
  FST_ERR_CTP_INVALID_JSON_BODY: BODY_NOT_JSON,
  FST_ERR_VALIDATION: { status: 400, error: 'invalid_request' },
  FST_CSRF_INVALID_TOKEN: { status: 403, error: 'csrf_invalid' },
  FST_CSRF_MISSING_SECRET: { status: 403, error: 'csrf_invalid' },
};

/** The `type` of body-parser's errors (Express) for the same cases, and the Express router's empty body. */
const BODY_PARSER_TYPES: Readonly<Record<string, KnownError>> = {
  'entity.too.large': BODY_TOO_LARGE,
  'entity.parse.failed': BODY_NOT_JSON,
  'entity.empty': BODY_EMPTY,
};

/** The table's own entry for `key`, never one inherited from Object.prototype (`constructor`). */
function entry(table: Readonly<Record<string, KnownError>>, key: string | undefined): KnownError | undefined {
  return key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The error code for a 4xx status that came without one of ours. */
const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'invalid_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  411: 'length_required',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'request_header_fields_too_large',
};

const PERSISTENCE_STATUS: Readonly<Record<PersistenceError['code'], { status: number; error: string }>> = {
  validation_failed: { status: 400, error: 'invalid_request' },
  unknown_model: { status: 400, error: 'invalid_request' },
  conflict: { status: 409, error: 'conflict' },
  not_found: { status: 404, error: 'not_found' },
  forbidden: { status: 403, error: 'forbidden' },
  storage_unavailable: { status: 503, error: 'storage_unavailable' },
  verification_failed: { status: 500, error: 'internal_error' },
};

function unavailable(): ApiErrorResponse {
  return {
    status: 503,
    body: { error: 'storage_unavailable', message: 'The database is unavailable; retry later.' },
    headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
  };
}

/**
 * @example const { status, body, headers } = toApiError(error)
 */
export function toApiError(error: unknown): ApiErrorResponse {
  const response = mapError(error);
  // An error is about this request: no cache may answer it to the next one.
  return { ...response, headers: { ...response.headers, 'cache-control': 'no-store' } };
}

function mapError(error: unknown): ApiErrorResponse {
  if (error instanceof ApiError) {
    const headers: Record<string, string> = {};
    if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
    else if (error.status === 503) headers['retry-after'] = String(RETRY_AFTER_SECONDS);
    return {
      status: error.status,
      body: { ...error.details, error: error.code, message: error.message },
      headers,
    };
  }
  if (error instanceof PersistenceError) {
    if (error.code === 'storage_unavailable') return unavailable();
    const mapped = PERSISTENCE_STATUS[error.code];
    const message =
      mapped.status === 500 ? 'The server could not verify the write; nothing was saved.' : error.message;
    const details: Record<string, unknown> = {};
    const field = (error as { field?: unknown }).field;
    if (typeof field === 'string') details.field = field;
    const currentVersion = (error as { currentVersion?: unknown }).currentVersion;
    if (typeof currentVersion === 'number') details.currentVersion = currentVersion;
    return { status: mapped.status, body: { ...details, error: mapped.error, message }, headers: {} };
  }
  if (isStorageUnavailable(error)) return unavailable();
  // Fastify's errors carry `code` and `statusCode`; body-parser's (Express) `status` and `type`.
  const candidate = (error ?? {}) as {
    code?: unknown;
    statusCode?: unknown;
    status?: unknown;
    type?: unknown;
    message?: unknown;
    headers?: unknown;
  };
  const code = typeof candidate.code === 'string' ? candidate.code : undefined;
  const type = typeof candidate.type === 'string' ? candidate.type : undefined;
  const known = entry(FRAMEWORK_CODES, code) ?? entry(BODY_PARSER_TYPES, type);
  const rawStatus = Number(candidate.statusCode ?? candidate.status);
  const status = known?.status ?? (rawStatus >= 400 && rawStatus < 500 ? rawStatus : 500);
  if (status >= 500) {
    return {
      status: 500,
      body: { error: 'internal_error', message: 'Something went wrong on the server.' },
      headers: {},
    };
  }
  const message =
    known?.message ??
    (typeof candidate.message === 'string' && candidate.message ? candidate.message : 'Bad request.');
  const headers: Record<string, string> = {};
  if (status === 429 && candidate.headers && typeof candidate.headers === 'object') {
    const retry = (candidate.headers as Record<string, unknown>)['retry-after'];
    if (retry !== undefined) headers['retry-after'] = String(retry);
  }
  return {
    status,
    body: { error: known?.error ?? STATUS_CODES[status] ?? 'bad_request', message },
    headers,
  };
}
