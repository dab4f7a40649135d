/**
 * fast-check on everything the browser service parses: a server's Retry-After, stored field
 * values, form keys from page attributes, and whatever another script (or a tampered profile) left
 * in localStorage under our prefix. Each parser answers within its domain and never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../../packages/steadfast/src/client/backoff.js';
import { type FieldValue, parseFieldValue } from '../../../packages/steadfast/src/client/field-values.js';
import { deriveFormKey, isSyncableKey } from '../../../packages/steadfast/src/client/form-key.js';
import { LocalStore, scopePrefix } from '../../../packages/steadfast/src/client/local-store.js';
import { SyncQueue } from '../../../packages/steadfast/src/client/sync-queue.js';
import { nastyText as anyText, urlishText } from '../../support/fuzz-arbitraries.js';
import { MemoryStorage } from './memory-storage.js';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');

const nastyText = fc.oneof(anyText, urlishText);

describe('parseRetryAfter', () => {
  it('answers null or a delay between 0 and the cap, whatever the header says', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          nastyText,
          fc.date().map((d) => (Number.isNaN(d.getTime()) ? '' : d.toUTCString())),
        ),
        (header) => {
          const delay = parseRetryAfter(header, NOW);
          if (delay === null) return;
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(MAX_RETRY_AFTER_MS);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reads whole seconds exactly and caps what no timer could wait for', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_RETRY_AFTER_MS / 1000 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), NOW)).toBe(seconds * 1000);
      }),
    );
    // setTimeout treats anything past 2^31 - 1 ms as 1 ms: an uncapped delay would retry at once.
    expect(parseRetryAfter('99999999999', NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter(new Date(NOW + 400 * 86_400_000).toUTCString(), NOW)).toBe(MAX_RETRY_AFTER_MS);
  });
});

const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 5 }),
);

describe('parseFieldValue', () => {
  it('gives back exactly what was stored', () => {
    fc.assert(
      fc.property(fieldValue, (value) => {
        expect(parseFieldValue(JSON.stringify(value))).toEqual(value);
      }),
    );
  });

  it('drops anything that is not a field value, without throwing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          nastyText,
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (raw) => {
          const value = parseFieldValue(raw);
          if (value === undefined) return;
          const shapeOk =
            typeof value === 'string' ||
            typeof value === 'boolean' ||
            (Array.isArray(value) && value.every((item) => typeof item === 'string'));
          expect(shapeOk).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('deriveFormKey', () => {
  it('derives a key from any id, data-autosave-key and action attribute, never throwing', () => {
    fc.assert(
      fc.property(
        nastyText,
        fc.option(nastyText, { nil: undefined }),
        fc.option(nastyText, { nil: null }),
        (id, autosaveKey, actionAttribute) => {
          const key = deriveFormKey({
            id,
            autosaveKey,
            actionAttribute,
            pageUrl: 'http://localhost/products/42/edit?tab=2',
          });
          expect(typeof key).toBe('string');
          // A key the server would refuse is kept on this device only; the check itself never throws.
          expect(typeof isSyncableKey(key)).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('falls back to the page’s path when the action attribute is not a URL', () => {
    expect(
      deriveFormKey({
        id: '',
        autosaveKey: undefined,
        actionAttribute: 'http://[',
        pageUrl: 'http://localhost/p/7?x=1',
      }),
    ).toBe('/p/7');
    expect(
      deriveFormKey({
        id: '',
        autosaveKey: undefined,
        actionAttribute: '/save?draft=1',
        pageUrl: 'http://localhost/p/7',
      }),
    ).toBe('/save');
  });
});

describe('tampered storage', () => {
  const prefix = scopePrefix('alice');
  const storedKey = fc.oneof(
    fc.constantFrom('outbox', 'mid', 'cid', 'parked'),
    fc
      .tuple(fc.constantFrom('f:', 'm:', 's:', 'p:form:', 'p:state:', 'p:', ''), nastyText)
      .map(([s, k]) => s + k),
  );
  const storedValue = fc.oneof(
    nastyText,
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.constantFrom('{"t":1,"e":"x"}', '{"v":null,"t":1,"e":1e400}', '[{"mutationId":"1"}]', '{"d":1,"t":0}'),
  );

  it('reads drafts, states, metas, the queue and parked changes from any content without throwing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(storedKey, storedValue), { maxLength: 12 }),
        nastyText,
        (entries, formKey) => {
          const storage = new MemoryStorage();
          for (const [key, value] of entries) storage.setItem(prefix + key, value);
          const store = new LocalStore(storage, 'alice', {
            ttlMs: 60_000,
            now: () => NOW,
            onProblem: () => {},
          });
          const queue = new SyncQueue(store);
          store.readMeta(formKey);
          store.readFields(formKey);
          store.readState(formKey);
          store.purgeExpired();
          queue.hasWork();
          queue.parked();
          const outbox = queue.assignPending(() => ({ data: 'x', baseVersion: null, savedAt: NOW }));
          // Whatever was there, the changes that go out carry consecutive ids and syncable keys.
          outbox.forEach((change, index) => {
            expect(Number.isSafeInteger(change.mutationId)).toBe(true);
            if (index > 0) expect(change.mutationId).toBe((outbox[index - 1]?.mutationId ?? 0) + 1);
          });
        },
      ),
      { numRuns: 1500 },
    );
  });
});
