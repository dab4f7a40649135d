/**
 * A fixed-window counter per key, in memory: behind SyncRateLimit (requests a minute, counted
 * before the body is read) and the sync service's quotas (changes and draft bytes a minute). Sign-in
 * uses @fastify/rate-limit. Per process: with several processes each enforces its own share.
 */
export class FixedWindowLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one hit; returns the seconds to wait when the key is over its limit, else 0. */
  hit(key: string): number {
    const now = this.now();
    const window = this.#window(key, now);
    window.count += 1;
    return window.count > this.max ? this.#wait(window, now) : 0;
  }

  /**
   * The seconds to wait before `amount` more fits the key's allowance, 0 when it fits now; counts
   * nothing. A fresh window admits one take of any size, so an amount larger than the whole
   * allowance (one full batch) still goes through once a window instead of never.
   */
  wait(key: string, amount: number): number {
    const now = this.now();
    const window = this.#window(key, now);
    return window.count > 0 && window.count + amount > this.max ? this.#wait(window, now) : 0;
  }

  /**
   * Takes `amount` of the key's allowance when it fits (see `wait`) and answers 0; else takes
   * nothing and answers the seconds to wait. A refused request costs nothing, so one oversized
   * attempt cannot lock its user out for the rest of the window.
   */
  take(key: string, amount: number): number {
    const wait = this.wait(key, amount);
    if (wait === 0) (this.#windows.get(key) as { count: number }).count += amount;
    return wait;
  }

  #window(key: string, now: number): { start: number; count: number } {
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      if (this.#windows.size > 10_000) this.#prune(now);
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    return window;
  }

  #wait(window: { start: number }, now: number): number {
    return Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000));
  }

  #prune(now: number): void {
    for (const [key, window] of this.#windows)
      if (now - window.start >= this.windowMs) this.#windows.delete(key);
  }
}
