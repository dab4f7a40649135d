/**
 * A stale draft merged in the form's own terms (src/client/draft-merge.ts): records as stored
 * against fields as shown, and the notice's words. Pure logic; the browser side is in
 * test/e2e/app/stale-draft-merge.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  asFieldValue,
  describeAuthor,
  describeMerge,
  describeValue,
  type FormValues,
  type FoundBase,
  isFoundBase,
  mergeDraft,
} from '../../../packages/steadfast/src/client/draft-merge.js';
import type { FieldValues } from '../../../packages/steadfast/src/protocol/three-way-merge.js';

const OLGA = { actor: '7', at: '2026-11-24T10:50:00.000Z', version: 4 };

function answer(
  base: FieldValues,
  current: FieldValues,
  fieldsChangedBy: FoundBase['fieldsChangedBy'] = {},
): FoundBase {
  return {
    status: 'found',
    key: 'product-42',
    version: 3,
    base: base as FoundBase['base'],
    current: { ...current, version: 4 } as FoundBase['current'],
    changedBy: OLGA,
    fieldsChangedBy,
  };
}

/** A product as stored (numbers, 0/1) and as its form shows it (text, a checkbox). */
const STORED = { name: 'Desk', price: '500.00', quantity: 7, active: 1, description: 'Oak' };
const SHOWN: FormValues = { name: 'Desk', price: '500.00', quantity: '7', active: true, description: 'Oak' };

describe('mergeDraft', () => {
  it('keeps the user’s field, takes the other’s, and asks about the field both changed', () => {
    const current = { ...STORED, name: 'Oak desk', description: 'Solid oak' };
    const page = { ...SHOWN, name: 'Oak desk', description: 'Solid oak' };
    const draft = { price: '450.00', description: 'Oak, oiled' };
    const result = mergeDraft(answer(STORED, current), draft, page);
    expect(result.fromDraft).toEqual(['price']);
    expect(result.conflicts).toEqual([
      { field: 'description', base: 'Oak', draft: 'Oak, oiled', current: 'Solid oak' },
    ]);
    expect(result.merged).toEqual({ ...page, price: '450.00' });
  });

  it('reads stored numbers and 0/1 as the form shows them: an untouched field is never a conflict', () => {
    // The user's draft holds every field as the form showed it at the base (a submit saves them all).
    const current = { ...STORED, quantity: 9, active: 0 };
    const page = { ...SHOWN, quantity: '9', active: false };
    const result = mergeDraft(answer(STORED, current), { ...SHOWN, price: '450.00' }, page);
    expect(result.conflicts).toEqual([]);
    expect(result.fromDraft).toEqual(['price']);
    expect(result.fromServer).toEqual(['quantity', 'active']);
    expect(result.merged).toEqual({ ...page, price: '450.00' });
  });

  it('never writes a field the draft does not hold, and leaves out drafted fields the page lost', () => {
    const result = mergeDraft(answer(STORED, STORED), { gone: 'x', price: '1.00' }, SHOWN);
    expect(result.merged).toEqual({ ...SHOWN, price: '1.00' });
    expect(Object.hasOwn(result.merged, 'gone')).toBe(false);
  });

  it('keeps a drafted field the record does not have (a form-only field) as the user’s change', () => {
    const page = { ...SHOWN, note: '' };
    const result = mergeDraft(answer(STORED, { ...STORED, name: 'Other' }), { note: 'call back' }, page);
    expect(result.fromDraft).toEqual(['note']);
    expect(result.conflicts).toEqual([]);
  });

  it('property: a draft of untouched fields gives the page back, asking nothing', () => {
    const text = fc.string({ maxLength: 8 });
    fc.assert(
      fc.property(
        fc.record({ name: text, price: text, quantity: fc.nat(), active: fc.constantFrom(0, 1) }),
        fc.record({ name: text, price: text, quantity: fc.nat(), active: fc.constantFrom(0, 1) }),
        (base, current) => {
          const show = (record: typeof base): FormValues => ({
            name: record.name,
            price: record.price,
            quantity: String(record.quantity),
            active: record.active === 1,
          });
          const page = show(current);
          const result = mergeDraft(answer(base, current), show(base), page);
          expect(result.conflicts).toEqual([]);
          expect(result.fromDraft).toEqual([]);
          expect(result.merged).toEqual(page);
        },
      ),
    );
  });

  it('property: the user’s own edit on a field nobody else changed is always kept', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (was, mine) => {
        const base = { ...STORED, name: was };
        const page = { ...SHOWN, name: was };
        const result = mergeDraft(answer(base, base), { name: mine }, page);
        expect(result.merged.name).toBe(mine);
        expect(result.conflicts).toEqual([]);
      }),
    );
  });
});

describe('asFieldValue', () => {
  it('turns a stored value into the shape of the field showing it', () => {
    expect(asFieldValue(7, '9')).toBe('7');
    expect(asFieldValue(null, 'x')).toBe('');
    expect(asFieldValue(1, false)).toBe(true);
    expect(asFieldValue(0, true)).toBe(false);
    expect(asFieldValue(true, false)).toBe(true);
    expect(asFieldValue(['a', 1], [])).toEqual(['a', '1']);
    expect(asFieldValue('a', [])).toEqual(['a']);
    expect(asFieldValue(undefined, [])).toEqual([]);
  });
});

describe('isFoundBase', () => {
  it('takes only an answer with a base and a current record', () => {
    expect(isFoundBase(answer(STORED, STORED))).toBe(true);
    expect(isFoundBase({ status: 'pruned', current: {}, oldestVersion: 4 })).toBe(false);
    expect(isFoundBase({ status: 'found', base: null, current: {} })).toBe(false);
    expect(isFoundBase({ error: 'not_found' })).toBe(false);
    expect(isFoundBase(null)).toBe(false);
  });
});

describe('the notice’s words', () => {
  it('names who saved a field and when, the user’s own save as "you"', () => {
    const found = answer(STORED, STORED, {
      name: { actor: '3', at: '2026-11-24T09:05:00.000Z', version: 4 },
    });
    expect(describeAuthor(found, 'name', '1')).toBe('user 3 at 09:05');
    expect(describeAuthor(found, 'price', '1')).toBe('user 7 at 10:50');
    expect(describeAuthor(found, 'price', '7')).toBe('you at 10:50');
    expect(describeAuthor({ ...found, changedBy: null }, 'price', '1')).toBe('someone else');
  });

  it('says which fields came from the draft and which from whose save, leaving conflicts to their choice', () => {
    const found = answer(STORED, STORED, {
      name: OLGA,
      quantity: OLGA,
      description: OLGA,
      sku: OLGA,
      hidden: { actor: '3', at: '2026-11-24T11:00:00.000Z', version: 5 },
    });
    const page = { ...SHOWN, sku: 'D-1' };
    const result = {
      merged: page,
      fromDraft: ['price'],
      fromServer: ['quantity'],
      conflicts: [{ field: 'description', base: 'Oak', draft: 'Mine', current: 'Theirs' }],
    };
    expect(describeMerge(result, found, page, '1')).toBe(
      'Kept from your draft: price. From the save by user 7 at 10:50: name, quantity, sku.',
    );
    expect(describeMerge({ ...result, fromDraft: [] }, answer(STORED, STORED), page, '1')).toBe('');
  });

  it('shows values in words', () => {
    expect(describeValue('Oak')).toBe('Oak');
    expect(describeValue('')).toBe('(empty)');
    expect(describeValue(undefined)).toBe('(empty)');
    expect(describeValue(null)).toBe('(empty)');
    expect(describeValue(true)).toBe('checked');
    expect(describeValue(false)).toBe('not checked');
    expect(describeValue(['red', 'blue'])).toBe('red, blue');
    expect(describeValue(7)).toBe('7');
  });
});
