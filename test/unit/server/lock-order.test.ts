import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../../packages/steadfast/src/persistence/lock-order.js';

describe('compareKeys (the lock order of batched writes)', () => {
  it('orders numbers by value, not as text', () => {
    expect([10, 2, 33, 1].sort(compareKeys)).toEqual([1, 2, 10, 33]);
  });

  it('orders text by code units, the same on every machine whatever its locale', () => {
    expect(['b', 'B', 'a', 'ä', 'A'].sort(compareKeys)).toEqual(['A', 'B', 'a', 'b', 'ä']);
    expect(compareKeys('same', 'same')).toBe(0);
  });
});
