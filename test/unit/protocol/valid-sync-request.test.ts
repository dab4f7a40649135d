/**
 * asValidSyncRequest, the sync service's path past the schema for a valid request: it returns a
 * body only when syncRequestSchema accepts it, and the schema's value is then equal to the body.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHANGE_KINDS,
  MAX_CHANGES_PER_BATCH,
  MAX_DATA_DEPTH,
  MAX_KEY_LENGTH,
  MAX_STORED_INTEGER,
} from '../../../packages/steadfast/src/protocol/constants.js';
import { asValidSyncRequest, syncRequestSchema } from '../../../packages/steadfast/src/protocol/sync.js';
import { nastyText } from '../../support/fuzz-arbitraries.js';

/** JSON nested `levels` objects deep: `{"a":{"a":…1…}}`. */
const nested = (levels: number): unknown => (levels === 0 ? 1 : { a: nested(levels - 1) });

const validChange = fc.record(
  {
    mutationId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    kind: fc.constantFrom(...CHANGE_KINDS),
    key: fc.constantFrom('product-42', 'a', 'ümlaut:ß/x.y_z', 'k'.repeat(MAX_KEY_LENGTH)),
    data: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 4 })),
    baseVersion: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: MAX_STORED_INTEGER })),
    savedAt: fc.constantFrom(
      '2026-11-24T21:00:00.000Z',
      '2024-02-29T00:00:00+02:00',
      '2026-01-01T12:30:59.5Z',
    ),
  },
  { requiredKeys: ['mutationId', 'kind', 'key', 'data', 'savedAt'] },
);

/** Values each field of a change may be given instead: near misses of the schema and plain garbage. */
const wrongField = fc.oneof(
  fc.record({
    field: fc.constant('mutationId'),
    value: fc.constantFrom(0, -1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '1', null),
  }),
  fc.record({ field: fc.constant('kind'), value: fc.constantFrom('Form', 'draft', '', null, 1) }),
  fc.record({
    field: fc.constant('key'),
    value: fc.oneof(nastyText, fc.constantFrom('', 'a b', 'k'.repeat(MAX_KEY_LENGTH + 1), 'x\u0000', 7)),
  }),
  fc.record({
    field: fc.constant('data'),
    value: fc.constantFrom(
      undefined,
      Number.POSITIVE_INFINITY,
      [1, Number.NaN],
      JSON.parse('{"__proto__":{"x":1}}'),
      { constructor: 1 },
      { a: { prototype: 2 } },
      nested(MAX_DATA_DEPTH - 1),
      nested(MAX_DATA_DEPTH),
      nested(MAX_DATA_DEPTH + 1),
      [[[]]],
      new Date(0),
      Object.create(null),
      1n,
    ),
  }),
  fc.record({
    field: fc.constant('baseVersion'),
    value: fc.constantFrom(undefined, -1, 1.5, MAX_STORED_INTEGER + 1, '3', false),
  }),
  fc.record({
    field: fc.constant('savedAt'),
    value: fc.oneof(
      nastyText,
      fc.constantFrom(
        '2026-11-24T21:00:00.000',
        '2026-11-24 21:00:00Z',
        '2025-02-29T00:00:00Z',
        '2026-13-01T00:00:00Z',
        '2026-11-24T24:00:00Z',
        '2026-11-24T21:00:00.000Z\n',
        0,
      ),
    ),
  }),
  fc.record({ field: fc.constantFrom('extra', 'toString', '__proto__'), value: fc.anything() }),
);

const change = fc.oneof(
  validChange,
  fc.tuple(validChange, wrongField).map(([valid, { field, value }]) => {
    const out: Record<string, unknown> = { ...valid };
    Object.defineProperty(out, field, { value, enumerable: true, writable: true, configurable: true });
    return out;
  }),
  fc
    .tuple(validChange, fc.constantFrom('mutationId', 'kind', 'key', 'data', 'savedAt'))
    .map(([valid, gone]) => {
      const out: Record<string, unknown> = { ...valid };
      delete out[gone];
      return out;
    }),
  fc.anything(),
);

const bodies = fc.oneof(
  fc.tuple(fc.uuid(), change).map(([clientId, one]) => ({ clientId, changes: [one] })),
  fc.record({ clientId: fc.uuid(), changes: fc.array(validChange, { maxLength: 12 }) }),
  fc.record({ clientId: fc.uuid(), changes: fc.array(change, { maxLength: 6 }) }),
  fc.record({
    clientId: fc.oneof(fc.uuid(), nastyText, fc.anything()),
    changes: fc.array(validChange, { maxLength: 3 }),
  }),
  fc.tuple(fc.uuid(), validChange).map(([clientId, one]) => ({
    clientId,
    changes: Array.from({ length: MAX_CHANGES_PER_BATCH + 1 }, (_, i) => ({ ...one, mutationId: i + 1 })),
  })),
  fc
    .tuple(fc.uuid(), fc.array(validChange, { maxLength: 2 }), fc.string(), fc.anything())
    .map(([clientId, changes, extra, value]) => ({ clientId, changes, [extra]: value })),
  fc.anything(),
);

describe('asValidSyncRequest', () => {
  it('takes valid requests, JSON-parsed, as they are', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.array(validChange, { maxLength: 12 }), (clientId, changes) => {
        const body = JSON.parse(JSON.stringify({ clientId, changes }));
        expect(asValidSyncRequest(body)).toBe(body);
      }),
    );
  });

  it('accepts only what syncRequestSchema accepts, and the schema then answers a value equal to the body', () => {
    fc.assert(
      fc.property(bodies, (body) => {
        const fast = asValidSyncRequest(body);
        if (fast === undefined) return;
        const parsed = syncRequestSchema.safeParse(body);
        expect(parsed.success).toBe(true);
        expect(fast).toStrictEqual(parsed.data);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data));
      }),
      { numRuns: 3000 },
    );
  });
});
