import { describe, expect, it } from 'vitest';
import { sameFieldValue } from '../../../packages/steadfast/src/client/field-values.js';

/** The comparison a restore uses to tell the fields a draft changes (and a stale draft's notice lists). */
describe('sameFieldValue', () => {
  it('compares strings and booleans by value, and lists item by item in order', () => {
    expect(sameFieldValue('Desk', 'Desk')).toBe(true);
    expect(sameFieldValue('500', '450')).toBe(false);
    expect(sameFieldValue(true, false)).toBe(false);
    expect(sameFieldValue(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameFieldValue(['red'], ['red', 'blue'])).toBe(false);
    expect(sameFieldValue(['a', 'b'], ['b', 'a'])).toBe(false);
  });

  it('never takes a value of another shape, or a missing one, for the same', () => {
    expect(sameFieldValue('a', ['a'])).toBe(false);
    expect(sameFieldValue('', false)).toBe(false);
    expect(sameFieldValue('x', undefined)).toBe(false);
    expect(sameFieldValue([], undefined)).toBe(false);
  });
});
