/**
 * What the read-back verification takes as the value written: the same value in the column's own
 * spelling passes, a value the database changed does not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storedAs, unchangedBy } from '../../../packages/steadfast/src/persistence/stored-value.js';

describe('storedAs', () => {
  it('takes a decimal as its column spells it, exactly', () => {
    expect(storedAs('5.00', '5')).toBe(true); // numeric(10,2)
    expect(storedAs(5, '5.00')).toBe(true); // SQLite NUMERIC affinity
    expect(storedAs('1000', '1e3')).toBe(true);
    expect(storedAs('-0.50', '-.5')).toBe(true);
    expect(storedAs('0.00', '-0')).toBe(true);
    expect(storedAs('12.50', 12.5)).toBe(true);
    expect(storedAs(7, '007')).toBe(true);
    // Rounded by the column: a changed value.
    expect(storedAs('5.00', '5.001')).toBe(false);
    expect(storedAs('1.00', '1.000000000000000000001')).toBe(false);
    expect(storedAs('3.141592653589793', '3.14159265358979323846')).toBe(false);
    expect(storedAs('-5.00', '5')).toBe(false);
    expect(storedAs('5', 'five')).toBe(false);
  });

  it('takes a timestamp with its zone as the same instant, and a day as node-postgres reads a date column', () => {
    expect(storedAs(new Date('2026-01-01T00:00:00.000Z'), '2026-01-01T00:00:00Z')).toBe(true);
    expect(storedAs(new Date('2025-12-31T23:00:00.000Z'), '2026-01-01T00:00:00+01:00')).toBe(true);
    expect(storedAs('2026-01-01 01:00:00+01', '2026-01-01T00:00:00.000Z')).toBe(true);
    expect(storedAs(new Date(2026, 0, 31), '2026-01-31')).toBe(true);
    // Rounded to the second (timestamp(0)), another day, or a time with no zone: not the value written.
    expect(storedAs(new Date('2026-01-01T00:00:01.000Z'), '2026-01-01T00:00:00.600Z')).toBe(false);
    expect(storedAs(new Date(2026, 0, 30), '2026-01-31')).toBe(false);
    expect(storedAs(new Date(2026, 0, 31, 12), '2026-01-31')).toBe(false);
    expect(storedAs('2026-01-01T00:00:00.000Z', '2026-01-01 00:00:00')).toBe(false);
  });

  it('keeps text exact, and objects equal by their JSON', () => {
    expect(storedAs('Desk', 'Desk')).toBe(true);
    expect(storedAs('desk', 'Desk')).toBe(false);
    expect(storedAs('Desk ', 'Desk')).toBe(false);
    expect(storedAs({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(storedAs({ a: [2, 1] }, { a: [1, 2] })).toBe(false);
    // jsonb's own key order.
    expect(storedAs({ b: 1, a: { d: 1, c: 2 } }, { a: { c: 2, d: 1 }, b: 1 })).toBe(true);
    expect(storedAs({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(storedAs({ ['__proto__']: 1 }, JSON.parse('{"__proto__":2}'))).toBe(false);
    expect(storedAs(null, undefined)).toBe(true);
    expect(storedAs(null, '')).toBe(false);
    expect(storedAs(0, null)).toBe(false);
  });

  it('finds a save unchanged only where the column cannot be text: a number or a Date read back', () => {
    expect(unchangedBy(7, '7.00')).toBe(true);
    expect(unchangedBy(new Date('2026-01-01T00:00:00.000Z'), '2026-01-01T01:00:00+01:00')).toBe(true);
    expect(unchangedBy(new Date(2026, 1, 1), '2026-02-01')).toBe(true);
    expect(unchangedBy('7.00', '7.00')).toBe(true);
    // A string read back may be a text column's: "7" over "7.00" changes it.
    expect(unchangedBy('7.00', '7')).toBe(false);
    expect(unchangedBy('2026-01-01T00:00:00.000Z', '2026-01-01T01:00:00+01:00')).toBe(false);
    expect(unchangedBy(7, '7.01')).toBe(false);
  });

  it('takes a number as the decimals that spell it and no other (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.nat({ max: 6 }), (cents, zeros) => {
        const text = (cents / 100).toFixed(2) + '0'.repeat(zeros);
        expect(storedAs(text, cents / 100)).toBe(true);
        expect(storedAs(text, (cents + 1) / 100)).toBe(false);
      }),
    );
  });
});
