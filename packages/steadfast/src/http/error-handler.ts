/**
 * The one place where errors become HTTP answers: every error, ours, the persistence layer's,
 * Fastify's, Express's body parser's, maps to a status and a `{error, message}` body. Bad input is
 * always a 4xx; only a fault of the server itself answers 500, with a message that leaks nothing.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isStorageUnavailable, PersistenceError } from '../persistence/errors.js';
import { ApiError } from '../sync/api-error.js';

/** Seconds a client should wait before retrying when the database is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

export interface ApiErrorResponse {
  readonly status: number;
  readonly body: { readonly error: string; readonly message: string } & Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

/** Codes of Fastify's and its plugins' errors that need a status other than their own. */
const FRAMEWORK_CODES: Readonly<Record<string, { status: number; error: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, error: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, error: 'invalid_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'invalid_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, error: 'invalid_request' },
  FST_ERR_VALIDATION: { status: 400, error: 'invalid_request' },
  FST_CSRF_INVALID_TOKEN: { status: 403, error: 'csrf_invalid' },
  FST_CSRF_MISSING_SECRET: { status: 403, error: 'csrf_invalid' },
};

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
  const candidate = (error ?? {}) as Partial<FastifyError> & {
    status?: unknown;
    type?: unknown;
    headers?: unknown;
  };
  const code = typeof candidate.code === 'string' ? candidate.code : undefined;
  const known = code ? FRAMEWORK_CODES[code] : undefined;
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
    typeof candidate.message === 'string' && candidate.message ? candidate.message : 'Bad request.';
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

export interface ErrorLogger {
  error(object: unknown, message?: string): void;
}

/** Fastify's error handler. 5xx are logged with the error; 4xx are the client's business. */
export function fastifyErrorHandler(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const response = toApiError(error);
  if (response.status >= 500 && response.status !== 503) request.log.error({ err: error }, 'request failed');
  else if (response.status === 503) request.log.warn({ err: error }, 'storage unavailable');
  return reply
    .code(response.status)
    .headers(response.headers)
    .type('application/json; charset=utf-8')
    .send(response.body);
}
