/** TokenBucket, the sync quotas' per-minute allowance, on a fake clock. */
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../packages/steadfast/src/sync/token-bucket.js';

describe('TokenBucket', () => {
  it('gives a burst of a sixth of the minute, then refills steadily, each key apart', () => {
    let now = 1_000_000;
    const bucket = new TokenBucket(60, () => now); // burst 10, one a second
    expect(bucket.take('a', 8)).toBe(0);
    expect(bucket.take('a', 3)).toBe(1); // 2 left, one more second for the third
    expect(bucket.take('b', 10)).toBe(0);
    expect(bucket.take('a', 2)).toBe(0);
    expect(bucket.wait('a', 1)).toBe(1);
    now += 5_000;
    expect(bucket.wait('a', 5)).toBe(0);
    expect(bucket.wait('a', 6)).toBe(1);
    now += 60_000;
    // Never more than the burst, however long it rested.
    expect(bucket.wait('a', 10)).toBe(0);
    expect(bucket.take('a', 11)).toBe(0); // larger than the burst: taken when full, leaving a debt
    expect(bucket.wait('a', 1)).toBe(2);
  });

  it('takes nothing when it refuses', () => {
    let now = 0;
    const bucket = new TokenBucket(600, () => now); // burst 100, ten a second
    expect(bucket.take('a', 90)).toBe(0);
    for (let i = 0; i < 5; i += 1) expect(bucket.take('a', 50)).toBeGreaterThan(0);
    expect(bucket.take('a', 10)).toBe(0);
    now += 100;
    expect(bucket.take('a', 1)).toBe(0);
  });
});
