import { describe, expect, it } from 'vitest';
import { diffFields, redact } from '../../../packages/steadfast/src/persistence/change-tracker.js';
import { REDACTED } from '../../../packages/steadfast/src/persistence/model-registry.js';

describe('diffFields (the changes of a log entry)', () => {
  it("lists changed fields, the before side's first, then those only after has; equal ones left out", () => {
    const changes = diffFields(
      { name: 'Desk', price: '10.00', tags: ['a'], gone: 1 },
      { added: true, price: '12.00', name: 'Desk', tags: ['a'] },
    );
    expect(Object.entries(changes)).toEqual([
      ['price', ['10.00', '12.00']],
      ['gone', [1, null]],
      ['added', [null, true]],
    ]);
  });

  it('reads a create and a delete as every field against null, secret fields redacted', () => {
    expect(diffFields(null, { name: 'Desk', password: 'x' }, ['password'])).toEqual({
      name: [null, 'Desk'],
      password: [REDACTED, REDACTED],
    });
    expect(diffFields({ when: new Date('2026-01-02T03:04:05.000Z'), n: 5n }, null)).toEqual({
      when: ['2026-01-02T03:04:05.000Z', null],
      n: [5, null],
    });
  });

  it('redact keeps every field in order, secret ones redacted and values normalised', () => {
    expect(Object.entries(redact({ b: undefined, a: 'x', password: 'y' }, ['password']))).toEqual([
      ['b', null],
      ['a', 'x'],
      ['password', REDACTED],
    ]);
    expect(redact(null)).toEqual({});
  });
});
