/**
 * A token bucket per key, in memory, behind the sync service's per-minute quotas (changes and body
 * bytes): the allowance refills steadily (`perMinute` a minute) up to a burst of a sixth of it, so
 * one account cannot spend a whole minute's allowance in its first second, which a fixed window
 * allows, and which stalled every other user's syncs for seconds (bench/abuse.bench.ts). Per
 * process: with several processes each enforces its own share.
 */
export class TokenBucket {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #capacity: number;
  readonly #perMs: number;

  constructor(
    perMinute: number,
    private readonly now: () => number = Date.now,
    /** The most one key can take at once, in tokens (default a sixth of a minute's). */
    capacity = Math.max(1, Math.floor(perMinute / 6)),
  ) {
    this.#capacity = capacity;
    this.#perMs = perMinute / 60_000;
  }

  /**
   * The seconds to wait before `amount` can be taken, 0 when it can be now; takes nothing. An
   * amount larger than the whole burst (one large batch) can be taken once the bucket is full,
   * leaving it in debt for as long as that amount takes to refill.
   */
  wait(key: string, amount: number): number {
    const tokens = this.#tokens(key);
    const needed = Math.min(amount, this.#capacity);
    if (tokens >= needed) return 0;
    return Math.max(1, Math.ceil((needed - tokens) / this.#perMs / 1000));
  }

  /** Takes `amount` when `wait` says it can be taken now; answers `wait`'s seconds either way. */
  take(key: string, amount: number): number {
    const wait = this.wait(key, amount);
    if (wait > 0) return wait;
    const bucket = this.#buckets.get(key) as { tokens: number; at: number };
    bucket.tokens -= amount;
    return 0;
  }

  #tokens(key: string): number {
    const now = this.now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size > 10_000) this.#prune(now);
      bucket = { tokens: this.#capacity, at: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
      bucket.at = now;
    }
    return bucket.tokens;
  }

  /** Forgets the keys whose bucket has refilled: they are as good as new. */
  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets)
      if (bucket.tokens + (now - bucket.at) * this.#perMs >= this.#capacity) this.#buckets.delete(key);
  }
}
