/**
 * asEmptySyncBatch, the sync service's shortcut past the schema for `{clientId, changes: []}`:
 * it recognises only what syncRequestSchema accepts, with the same value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { syncRequestSchema } from '../../../packages/steadfast/src/protocol/sync.js';
import { asEmptySyncBatch } from '../../../packages/steadfast/src/sync/sync-service.js';

const clientIds = fc.oneof(
  fc.uuid(),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.uuid().map((id) => ` ${id}`),
  fc.uuid().map((id) => `${id}\n`),
  fc.uuid().map((id) => id.replace(/-/g, '')),
  fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
  fc.string(),
  fc.anything(),
);
const changes = fc.oneof(fc.constant([]), fc.constant([{}]), fc.anything());
const bodies = fc.oneof(
  fc.record({ clientId: clientIds, changes }),
  fc.record({ clientId: clientIds, changes }, { requiredKeys: [] }),
  fc
    .tuple(fc.uuid(), fc.dictionary(fc.string(), fc.anything(), { minKeys: 1, maxKeys: 2 }))
    .map(([clientId, extra]) => ({ ...extra, clientId, changes: [] })),
  fc.uuid().map((clientId) => JSON.parse(`{"clientId":"${clientId}","changes":[],"__proto__":{"x":1}}`)),
  fc.uuid().map((clientId) => Object.assign(Object.create({ changes: [] }), { clientId, other: 1 })),
  fc.uuid().map((clientId) => [clientId, []]),
  fc.anything(),
);

describe('asEmptySyncBatch', () => {
  it('recognises an empty batch with a valid clientId', () => {
    fc.assert(
      fc.property(fc.uuid(), (clientId) => {
        expect(asEmptySyncBatch({ clientId, changes: [] })).toEqual({ clientId, changes: [] });
        expect(asEmptySyncBatch(JSON.parse(JSON.stringify({ changes: [], clientId })))).toEqual({
          clientId,
          changes: [],
        });
      }),
    );
  });

  it('accepts only what syncRequestSchema accepts, with the same value', () => {
    fc.assert(
      fc.property(bodies, (body) => {
        const fast = asEmptySyncBatch(body);
        if (fast === undefined) return;
        const parsed = syncRequestSchema.safeParse(body);
        expect(parsed.success).toBe(true);
        expect(fast).toEqual(parsed.data);
      }),
      { numRuns: 2000 },
    );
  });
});
