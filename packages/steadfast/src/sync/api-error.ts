/**
 * Errors the services (and the HTTP layer over them) raise themselves, each carrying one stable code of the protocol
 * (`API_ERROR_CODES`), so the error handler maps code → status in one place.
 */
import type { z } from 'zod';
import { API_ERROR_CODES, type ApiErrorCode } from '../protocol/constants.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** Extra fields of the JSON body, e.g. `expectedMutationId` for `mutation_gap`. */
    readonly details: Readonly<Record<string, unknown>> = {},
    /** Sent as `Retry-After` when set: when trying again can succeed. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.status = API_ERROR_CODES[code];
  }
}

/**
 * A request over one of the configured limits (`limits.<name>` of the options), refused before
 * anything was written. The body names the limit (`limit`) and its value (`max`): 413 for what is
 * too large to store (`payload_too_large`, `quota_exceeded`), 429 with `Retry-After` for too much
 * too often (`rate_limited`).
 */
export class LimitExceededError extends ApiError {
  constructor(
    code: 'payload_too_large' | 'quota_exceeded' | 'rate_limited',
    readonly limit: string,
    readonly max: number,
    message: string,
    retryAfterSeconds?: number,
    details: Readonly<Record<string, unknown>> = {},
  ) {
    super(code, message, { ...details, limit, max }, retryAfterSeconds);
  }
}

/** A body that is not valid for its schema; `field` is the dotted path of the first bad value. */
export class InvalidRequestError extends ApiError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super('invalid_request', message, field ? { field } : {});
  }
}

/** The next mutation id of a client is not the one the server expects: nothing was applied. */
export class MutationGapError extends ApiError {
  constructor(
    readonly expectedMutationId: number,
    received: number,
  ) {
    super('mutation_gap', `expected mutation ${expectedMutationId} next, got ${received}`, {
      expectedMutationId,
    });
  }
}

/** No signed-in session. One wording for the Fastify plugin and the Express router. */
export class UnauthenticatedError extends ApiError {
  constructor() {
    super('unauthenticated', 'Sign in first.');
  }
}

/** A state-changing request without the session's CSRF token, or with a wrong one. */
export class InvalidCsrfTokenError extends ApiError {
  constructor() {
    super('csrf_invalid', 'Invalid CSRF token.');
  }
}

/** A zod failure as an InvalidRequestError naming the first bad field. */
export function invalidRequest(error: z.ZodError, what = 'body'): InvalidRequestError {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join('.') || undefined;
  const where = field ? `${what}.${field}` : what;
  return new InvalidRequestError(`${where}: ${issue?.message ?? 'invalid'}`, field);
}
