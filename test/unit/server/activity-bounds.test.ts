/** Holding log entries to a size: parsing a stored entry's cut-short text, and shortening an entry. */
import { describe, expect, it } from 'vitest';
import {
  boundEntry,
  cutPair,
  parseObjectPrefix,
} from '../../../packages/steadfast/src/persistence/activity-bounds.js';
import type { ActivityEntry } from '../../../packages/steadfast/src/persistence/activity-entry.js';

const entry = (changes: ActivityEntry['changes'], snapshot: Record<string, unknown>): ActivityEntry => ({
  id: 1,
  time: '2026-01-01T00:00:00.000Z',
  actor: '1',
  action: 'update',
  model: 'Draft',
  objectId: '1:form:x',
  changes,
  snapshot,
  requestId: null,
  ip: null,
  version: 1,
  checkpoint: false,
});

describe('parseObjectPrefix', () => {
  it('parses whole text as it is, and cut text member by member, the cut member as a marker', () => {
    expect(parseObjectPrefix('{"a":1,"b":"x"}')).toEqual({ a: 1, b: 'x' });
    const text = JSON.stringify({
      a: { nested: [1, 2, ',', '}'] },
      b: 'quote " and , inside',
      c: 'long text',
    });
    const cut = text.slice(0, text.length - 5);
    expect(parseObjectPrefix(cut)).toEqual({
      a: { nested: [1, 2, ',', '}'] },
      b: 'quote " and , inside',
      c: { $truncated: true, preview: 'long t' },
    });
    // Cut inside a key: that member is left out.
    expect(parseObjectPrefix('{"a":1,"bcd')).toEqual({ a: 1 });
    expect(parseObjectPrefix('not json')).toEqual({});
    expect(parseObjectPrefix('[1,2')).toEqual({});
  });

  it('keeps a stored `__proto__` key as an own property, never as the prototype', () => {
    const parsed = parseObjectPrefix('{"__proto__":{"polluted":true},"a":1,"b":"cut');
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads a cut [before, after] pair of changes: before whole when it was read, after a marker', () => {
    expect(cutPair('[null,"abc')).toEqual([null, { $truncated: true, preview: 'abc' }]);
    expect(cutPair('["abc')).toEqual([
      { $truncated: true, preview: 'abc' },
      { $truncated: true, preview: '' },
    ]);
  });
});

describe('boundEntry', () => {
  it('leaves an entry that fits as it is', () => {
    const small = entry({ a: [1, 2] }, { a: 2 });
    expect(boundEntry(small, 100, true, 1000)).toBe(small);
  });

  it('replaces the largest values with markers first, keeping small ones, and says how large it was', () => {
    const big = 'x'.repeat(5000);
    const bounded = boundEntry(
      entry({ name: ['a', 'b'], body: [null, big] }, { name: 'b', body: big }),
      10_050,
      true,
      1000,
    );
    expect(bounded.changes.name).toEqual(['a', 'b']);
    expect(bounded.changes.body?.[0]).toBeNull();
    expect(bounded.changes.body?.[1]).toMatchObject({ $truncated: true, bytes: 5002 });
    expect(bounded.snapshot.body).toMatchObject({ $truncated: true, bytes: 5002 });
    expect(bounded.truncated).toEqual({ bytes: 10_050 });
    expect(JSON.stringify(bounded).length).toBeLessThan(1000 + 400);
  });

  it('leaves out the last fields of an entry of many small ones', () => {
    const fields = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, i]));
    const changes = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, [null, v] as const]));
    const bounded = boundEntry(entry(changes, fields), 20_000, true, 1000);
    const kept = Object.keys(bounded.changes);
    expect(kept.length).toBeGreaterThan(5);
    expect(kept.length).toBeLessThan(500);
    expect(kept[0]).toBe('f0');
    expect(
      JSON.stringify(bounded.changes).length + JSON.stringify(bounded.snapshot).length,
    ).toBeLessThanOrEqual(1100);
  });
});
