/** FixedWindowLimiter, the sync route's rate limit on both adapters, on a fake clock. */
import { describe, expect, it } from 'vitest';
import { SyncRateLimit } from '../../../packages/steadfast/src/http/sync-rate-limit.js';
import { FixedWindowLimiter } from '../../../packages/steadfast/src/sync/fixed-window-limiter.js';

describe('FixedWindowLimiter', () => {
  it('allows max hits a window per key, then answers the seconds left until the window ends', () => {
    let now = 1_000_000;
    const limiter = new FixedWindowLimiter(3, 60_000, () => now);
    expect([limiter.hit('a'), limiter.hit('a'), limiter.hit('a')]).toEqual([0, 0, 0]);
    expect(limiter.hit('b')).toBe(0);
    now += 15_500;
    expect(limiter.hit('a')).toBe(45);
    now += 44_499;
    expect(limiter.hit('a')).toBe(1);
    now += 1;
    expect(limiter.hit('a')).toBe(0);
  });
});

describe('SyncRateLimit', () => {
  it('counts each user apart and words the refusal with the seconds to wait', () => {
    let now = 2_000_000;
    const limit = new SyncRateLimit(2, () => now);
    expect([limit.hit('1'), limit.hit('1'), limit.hit('2')]).toEqual([null, null, null]);
    now += 30_000;
    const refusal = limit.hit('1');
    expect(refusal?.retryAfterSeconds).toBe(30);
    expect(refusal?.error).toMatchObject({
      code: 'rate_limited',
      message: 'Too many requests; retry in 30 seconds.',
    });
    expect(limit.hit('2')).toBeNull();
  });
});
