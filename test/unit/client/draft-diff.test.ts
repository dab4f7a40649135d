import { describe, expect, it } from 'vitest';
import { differingFields } from '../../../src/client/draft-diff.js';

describe('differingFields', () => {
  it('names the draft fields whose values differ, lists compared item by item', () => {
    expect(
      differingFields(
        { title: 'Desk', price: '500', tags: ['a', 'b'], agree: true, colors: ['red'] },
        { title: 'Desk', price: '450', tags: ['a', 'b'], agree: false, colors: ['red', 'blue'] },
      ),
    ).toEqual(['price', 'agree', 'colors']);
  });

  it('counts a field missing from the page as differing, and ignores page-only fields', () => {
    expect(differingFields({ notes: 'x' }, { title: 'Desk' })).toEqual(['notes']);
    expect(differingFields({}, { title: 'Desk' })).toEqual([]);
  });
});
