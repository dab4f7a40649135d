/**
 * Retry delay after a failed sync: exponential, capped, with "equal jitter" (half fixed, half
 * random) so many tabs or browsers that failed together do not retry together, and no retry is
 * ever immediate.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };

/** `attempt` counts failures so far, from 0; `random` returns [0, 1) like Math.random. */
export function backoffDelay(
  attempt: number,
  random: () => number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * The longest wait a server can ask for: an hour. Past 2^31 - 1 ms a timer fires at once (so an
 * uncapped "Retry-After: 99999999999" meant retrying in a tight loop), and a draft should not wait
 * longer than this to reach the server anyway.
 */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** A server's `Retry-After` (seconds or HTTP date) in ms, or null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  const delay = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isNaN(delay) ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, delay));
}
