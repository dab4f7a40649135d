/**
 * One sync request, its outcome classified into what the queue must do next. Failures are values
 * with a kind, not thrown errors, so the caller's switch is exhaustive and no message is parsed.
 */
import { CSRF_HEADER } from '../protocol/constants.js';
import type { ApiErrorBody, SyncChange, SyncResponse } from '../protocol/sync.js';
import { parseRetryAfter } from './backoff.js';
import { isRecord } from './json.js';

export type SyncAttempt =
  | { readonly kind: 'accepted'; readonly response: SyncResponse }
  /** 409 mutation_gap: the server expects another id next. */
  | { readonly kind: 'gap'; readonly expectedMutationId: number }
  /** 400 or 413: something in the batch is refused; retrying it unchanged cannot help. */
  | { readonly kind: 'rejected'; readonly message: string }
  /** 401/403: no session or a bad CSRF token; retried later, the user is told. */
  | { readonly kind: 'unauthorized' }
  /** Network failure, 429, 5xx: keep everything and retry with backoff. */
  | {
      readonly kind: 'retry';
      readonly reason: 'network' | 'unavailable';
      readonly retryAfterMs: number | null;
    };

export interface SyncRequestOptions {
  readonly endpoint: string;
  readonly csrfToken: string | null;
  readonly keepalive: boolean;
  readonly signal?: AbortSignal;
  readonly fetch: typeof fetch;
}

function isApiErrorBody(value: unknown): value is ApiErrorBody {
  return isRecord(value) && typeof value.error === 'string';
}

function isSyncResponse(value: unknown): value is SyncResponse {
  return (
    isRecord(value) &&
    value.status === 'ok' &&
    typeof value.lastMutationId === 'number' &&
    Array.isArray(value.results)
  );
}

export async function sendChanges(
  clientId: string,
  changes: readonly SyncChange[],
  options: SyncRequestOptions,
): Promise<SyncAttempt> {
  let response: Response;
  try {
    // fetch's default credentials (same-origin) carry the session cookie.
    response = await options.fetch(options.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.csrfToken === null ? {} : { [CSRF_HEADER]: options.csrfToken }),
      },
      body: JSON.stringify({ clientId, changes }),
      keepalive: options.keepalive,
      signal: options.signal,
    });
  } catch {
    return { kind: 'retry', reason: 'network', retryAfterMs: null };
  }
  // Proxies answer errors in HTML; the status decides alone.
  const body: unknown = await response.json().catch(() => null);
  const status = response.status;
  if (response.ok && isSyncResponse(body)) return { kind: 'accepted', response: body };
  if (status === 409 && isApiErrorBody(body) && typeof body.expectedMutationId === 'number') {
    return { kind: 'gap', expectedMutationId: body.expectedMutationId };
  }
  if (status === 400 || status === 413) {
    return { kind: 'rejected', message: isApiErrorBody(body) ? body.message : `HTTP ${status}` };
  }
  if (status === 401 || status === 403) {
    return { kind: 'unauthorized' };
  }
  // Also a 200 whose body is not a sync answer (a captive portal's page, say).
  return {
    kind: 'retry',
    reason: 'unavailable',
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), Date.now()),
  };
}
