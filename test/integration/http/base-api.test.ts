/**
 * `GET /api/autosave/base/?key=…&version=…`: the record a stale draft is merged against, as it was
 * at the draft's base version and as it is now, for the signed-in user. One suite against both
 * adapters (the Fastify plugin through inject, the Express router over a real socket) on both
 * databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { type Clock, pruneActivityLog } from '../../../packages/steadfast/src/persistence/index.js';
import { BASE_PATH, baseResponseSchema } from '../../../packages/steadfast/src/protocol/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import {
  ADAPTER_HARNESSES,
  type ApiHarness,
  createTestUser,
  signInAs,
  type TestSession,
} from '../../support/http-fixtures.js';
import { createProduct } from '../../support/persistence-fixtures.js';

const adapters = ADAPTER_HARNESSES;
const baseUrl = (key: string, version: number | string) =>
  `${BASE_PATH}?key=${encodeURIComponent(key)}&version=${encodeURIComponent(String(version))}`;

describeEachDatabase('base API', (current) => {
  for (const [adapter, makeHarness] of Object.entries(adapters)) {
    describe(`over ${adapter}`, () => {
      let harness: ApiHarness;
      let alice: TestSession;
      let bob: TestSession;
      const get = (url: string, session: TestSession | undefined = alice) =>
        harness.client.request({ url, session });
      const asBob = <T>(fn: () => Promise<T>) => harness.persistence.runAs(String(bob.user.id), fn);

      beforeAll(async () => {
        harness = await makeHarness(current(), {
          // `item:<id>` names a product too, as an app's own key scheme would.
          recordForKey: (key) => {
            const item = /^item:(\d{1,9})$/.exec(key);
            if (item) return { model: 'Product', id: Number(item[1]) };
            const match = /^(product|user)-(\d{1,9})$/.exec(key);
            return match ? { model: match[1] === 'user' ? 'User' : 'Product', id: Number(match[2]) } : null;
          },
        });
        alice = await signInAs(harness.app, await createTestUser(harness.persistence, 'alice'));
        bob = await signInAs(harness.app, await createTestUser(harness.persistence, 'bob'));
      });
      afterAll(async () => {
        await harness.close();
      });

      it('answers found: the record at the version, the record now, and who changed what since', async () => {
        const product = await createProduct(harness.persistence, { name: 'Desk', price: '500.00' });
        const saved = await asBob(() =>
          harness.persistence.autoSave('Product', { id: product.id, name: 'Oak desk', quantity: 8 }),
        );
        const bobsSave = { actor: String(bob.user.id), at: saved.entry?.time, version: 2 };
        const response = await get(baseUrl(`product-${product.id}`, 1));
        expect(response.status).toBe(200);
        expect(baseResponseSchema.parse(response.json)).toEqual(response.json);
        expect(response.json).toEqual({
          status: 'found',
          key: `product-${product.id}`,
          version: 1,
          base: {
            sku: product.sku,
            name: 'Desk',
            description: 'Oak, 160 cm',
            price: '500.00',
            quantity: 3,
            category: 'Furniture',
            active: 1,
          },
          current: {
            sku: product.sku,
            name: 'Oak desk',
            description: 'Oak, 160 cm',
            price: '500.00',
            quantity: 8,
            category: 'Furniture',
            active: 1,
            version: 2,
          },
          changedBy: bobsSave,
          fieldsChangedBy: { name: bobsSave, quantity: bobsSave },
        });
        // The app's own key mapping names the same record.
        const byItem = await get(baseUrl(`item:${product.id}`, 2));
        expect(byItem.json).toMatchObject({
          status: 'found',
          key: `item:${product.id}`,
          fieldsChangedBy: {},
        });
        expect(byItem.json.base).toEqual({ ...byItem.json.current, version: undefined });
      });

      it('answers unknown for a version the record never had, with the record now', async () => {
        const product = await createProduct(harness.persistence);
        for (const version of [0, 2, 2147483647]) {
          const response = await get(baseUrl(`product-${product.id}`, version));
          expect(response.status, String(version)).toBe(200);
          expect(response.json).toMatchObject({
            status: 'unknown',
            version,
            current: { version: 1, name: product.name },
            changedBy: { version: 1 },
          });
          expect(response.json).not.toHaveProperty('base');
        }
      });

      it('answers pruned, with the oldest version still kept, for a base pruned from the log', async () => {
        let now = new Date('2003-01-01T00:00:00.000Z');
        const clock: Clock = { now: () => now };
        const old = createAppPersistence({ db: current().opened.db, clock });
        const product = await createProduct(old, { quantity: 1 });
        for (const [day, quantity] of [
          ['2003-01-02', 2],
          ['2003-03-01', 3],
        ] as const) {
          now = new Date(`${day}T00:00:00.000Z`);
          await old.autoSave('Product', { id: product.id, quantity });
        }
        await pruneActivityLog(current().opened.db, new Date('2003-02-01T00:00:00.000Z'));
        const response = await get(baseUrl(`product-${product.id}`, 1));
        expect(response.status).toBe(200);
        expect(baseResponseSchema.parse(response.json)).toEqual(response.json);
        expect(response.json).toMatchObject({
          status: 'pruned',
          version: 1,
          oldestVersion: 2,
          current: { quantity: 3, version: 3 },
        });
        expect(response.json).not.toHaveProperty('base');
        expect((await get(baseUrl(`product-${product.id}`, 2))).json.status).toBe('found');
      });

      it('answers 404 for a key that names no record of a registered model, or a record that is gone', async () => {
        const gone = await createProduct(harness.persistence);
        await harness.persistence.autoDelete('Product', gone.id);
        for (const key of ['sidebar', 'ui/panel', 'widget-1', 'product-999999999', `product-${gone.id}`]) {
          const response = await get(baseUrl(key, 1));
          expect(response.status, key).toBe(404);
          expect(response.json).toMatchObject({ error: 'not_found', message: expect.any(String) });
        }
      });

      it('answers 400 naming the field for a bad query', async () => {
        const cases: Array<[string, string]> = [
          [`${BASE_PATH}?version=1`, 'key'],
          [`${BASE_PATH}?key=product-1`, 'version'],
          [baseUrl('product-1', 'abc'), 'version'],
          [baseUrl('product-1', '-1'), 'version'],
          [baseUrl('product-1', '1.5'), 'version'],
          [baseUrl('product-1', '01'), 'version'],
          [baseUrl('product-1', '2147483648'), 'version'],
          [baseUrl('product 1', 1), 'key'],
          [baseUrl('product-1\u0000', 1), 'key'],
          [baseUrl('x'.repeat(201), 1), 'key'],
          [`${BASE_PATH}?key=product-1&key=product-2&version=1`, 'key'],
          [`${baseUrl('product-1', 1)}&version=2`, 'version'],
        ];
        for (const [url, field] of cases) {
          const response = await get(url);
          expect(response.status, url).toBe(400);
          expect(response.json, url).toMatchObject({
            error: 'invalid_request',
            field,
            message: expect.stringContaining(`query.${field}`),
          });
        }
        const extra = await get(`${baseUrl('product-1', 1)}&extra=1`);
        expect(extra.status).toBe(400);
        expect(extra.json.error).toBe('invalid_request');
      });

      it('answers 401 without a session', async () => {
        const product = await createProduct(harness.persistence);
        const response = await harness.client.request({ url: baseUrl(`product-${product.id}`, 1) });
        expect(response.status).toBe(401);
        expect(response.json).toMatchObject({ error: 'unauthenticated' });
      });

      it('never sends a secret field, and a user record only to its own user', async () => {
        await harness.persistence.autoSave('User', {
          id: alice.user.id,
          password_hash: 'scrypt$a-secret-hash',
          display_name: 'Alice Again',
        });
        const own = await get(baseUrl(`user-${alice.user.id}`, 1));
        expect(own.status).toBe(200);
        expect(own.json).toMatchObject({
          status: 'found',
          base: { username: alice.user.username },
          current: { display_name: 'Alice Again', version: 2 },
          fieldsChangedBy: { display_name: expect.any(Object) },
        });
        expect(own.text).not.toContain('password_hash');
        expect(own.text).not.toContain('scrypt');
        expect(own.text).not.toContain('[changed]');
        const others = await get(baseUrl(`user-${bob.user.id}`, 1));
        expect(others.status).toBe(403);
        expect(others.json).toMatchObject({ error: 'forbidden' });
        expect(others.text).not.toContain(bob.user.username);
      });
    });
  }

  it('is not mounted with routes.base false', async () => {
    for (const makeHarness of Object.values(adapters)) {
      const harness = await makeHarness(current(), { routes: { base: false } });
      try {
        const session = await signInAs(harness.app, await createTestUser(harness.persistence, 'nobase'));
        const product = await createProduct(harness.persistence);
        const response = await harness.client.request({ url: baseUrl(`product-${product.id}`, 1), session });
        expect(response.status, harness.adapter).toBe(404);
        expect(response.json?.status).toBeUndefined();
      } finally {
        await harness.close();
      }
    }
  });
});
