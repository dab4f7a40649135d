import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../../packages/steadfast/src/client/backoff.js';

const policy = { baseMs: 1000, maxMs: 60_000 };

describe('backoffDelay', () => {
  it('doubles per attempt, between half and all of the ceiling', () => {
    expect(backoffDelay(0, () => 0, policy)).toBe(500);
    expect(backoffDelay(0, () => 0.999_999, policy)).toBe(1000);
    expect(backoffDelay(3, () => 0, policy)).toBe(4000);
    expect(backoffDelay(3, () => 0.5, policy)).toBe(6000);
  });

  it('is capped, even after very many attempts', () => {
    expect(backoffDelay(10, () => 0.999_999, policy)).toBe(60_000);
    expect(backoffDelay(10_000, () => 0, policy)).toBe(30_000);
  });

  it('spreads retries of clients that failed together (jitter)', () => {
    const delays = new Set([0, 0.25, 0.5, 0.75].map((random) => backoffDelay(4, () => random, policy)));
    expect(delays.size).toBe(4);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:00:05 GMT', now)).toBe(5000);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
  });
});
