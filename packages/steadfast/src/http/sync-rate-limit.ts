/**
 * The sync endpoint's rate limit per signed-in user, shared by the Fastify route and the Express
 * router so both count, key and word a refusal the same way.
 */
import { type ApiError, LimitExceededError } from '../sync/api-error.js';
import { FixedWindowLimiter } from '../sync/fixed-window-limiter.js';

export interface SyncRateRefusal {
  /** The 429 to answer with. */
  readonly error: ApiError;
  /** For the `Retry-After` header. */
  readonly retryAfterSeconds: number;
}

/**
 * The body bytes a sync request announces (its Content-Length), for the quota counted before the
 * body is read; undefined when it announces none (chunked), or more than `bodyLimit` (the body
 * parser refuses it with 413 without reading it, so it is not counted).
 */
export function announcedBodyBytes(header: string | undefined, bodyLimit: number): number | undefined {
  if (header === undefined || !/^\d{1,16}$/.test(header)) return undefined;
  const bytes = Number(header);
  return bytes <= bodyLimit ? bytes : undefined;
}

export class SyncRateLimit {
  readonly #limiter: FixedWindowLimiter;

  readonly #perMinute: number;

  constructor(perMinute: number, now?: () => number) {
    this.#perMinute = perMinute;
    this.#limiter = new FixedWindowLimiter(perMinute, 60_000, now);
  }

  /** Counts one sync of `userId`; the refusal when it is over the limit, else null. */
  hit(userId: string): SyncRateRefusal | null {
    const wait = this.#limiter.hit(`sync:u:${userId}`);
    if (wait <= 0) return null;
    return {
      error: new LimitExceededError(
        'rate_limited',
        'syncPerMinute',
        this.#perMinute,
        `Too many requests; retry in ${wait} seconds.`,
        wait,
      ),
      retryAfterSeconds: wait,
    };
  }
}
