import { describe, expect, it } from 'vitest';
import { BoundedMemo } from '../../../packages/steadfast/src/http/bounded-memo.js';

describe('BoundedMemo', () => {
  it('keeps at most its capacity, forgetting the oldest first', () => {
    const memo = new BoundedMemo<number>(3);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) memo.remember(key, i);
    expect(memo.get('a')).toBeUndefined();
    expect(['b', 'c', 'd'].map((key) => memo.get(key))).toEqual([1, 2, 3]);
  });
});
