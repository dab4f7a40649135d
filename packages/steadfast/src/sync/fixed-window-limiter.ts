/**
 * A fixed-window request counter per key, in memory, behind SyncRateLimit (the sync route of both
 * the Fastify plugin and the Express router; sign-in uses @fastify/rate-limit). Per process: with
 * several processes each enforces its own share.
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
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      if (this.#windows.size > 10_000) this.#prune(now);
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return window.count > this.max ? Math.ceil((window.start + this.windowMs - now) / 1000) : 0;
  }

  #prune(now: number): void {
    for (const [key, window] of this.#windows)
      if (now - window.start >= this.windowMs) this.#windows.delete(key);
  }
}
