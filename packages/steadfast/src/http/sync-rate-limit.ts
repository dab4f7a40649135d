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
