/**
 * The sync endpoint's rate limit per signed-in user, shared by the Fastify route and the Express
 * router so both count, key and word a refusal the same way.
 */
import { ApiError } from '../sync/api-error.js';
import { FixedWindowLimiter } from './fixed-window-limiter.js';

export interface SyncRateRefusal {
  /** The 429 to answer with. */
  readonly error: ApiError;
  /** For the `Retry-After` header. */
  readonly retryAfterSeconds: number;
}

export class SyncRateLimit {
  readonly #limiter: FixedWindowLimiter;

  constructor(perMinute: number, now?: () => number) {
    this.#limiter = new FixedWindowLimiter(perMinute, 60_000, now);
  }

  /** Counts one sync of `userId`; the refusal when it is over the limit, else null. */
  hit(userId: string): SyncRateRefusal | null {
    const wait = this.#limiter.hit(`sync:u:${userId}`);
    if (wait <= 0) return null;
    return {
      error: new ApiError('rate_limited', `Too many requests; retry in ${wait} seconds.`),
      retryAfterSeconds: wait,
    };
  }
}
