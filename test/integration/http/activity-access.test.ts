/**
 * What `/api/activity` shows to whom, and how much: on both adapters and both databases. A user
 * sees their own entries in full; others' without IP and request id (unless `canSeeDetails`), and
 * no one else's private records (drafts, `privateRecords`); `/api/activity/:id` gives one entry
 * whole under the same rules. Pages and entries are bounded in bytes: a huge entry comes shortened
 * with a marker, never whole, and the page ends early with its cursor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../support/databases.js';
import {
  ADAPTER_HARNESSES,
  type ApiHarness,
  change,
  createTestUser,
  NO_SYNC_LIMITS,
  newClientId,
  SYNC,
  signInAs,
  type TestSession,
} from '../../support/http-fixtures.js';
import { productValues } from '../../support/persistence-fixtures.js';

const adapters = ADAPTER_HARNESSES;
const ALICE_IP = '203.0.113.77';
const ALICE_REQUEST = 'req-alice-0001';

interface Entry {
  readonly id: number;
  readonly actor: string;
  readonly model: string;
  readonly objectId: string;
  readonly ip: string | null;
  readonly requestId: string | null;
  readonly changes: Record<string, [unknown, unknown]>;
  readonly snapshot: Record<string, unknown>;
  readonly truncated?: { bytes: number };
}

describeEachDatabase('activity API: who sees what', (current) => {
  for (const [adapter, makeHarness] of Object.entries(adapters)) {
    describe(`over ${adapter}`, () => {
      let harness: ApiHarness;
      let alice: TestSession;
      let bob: TestSession;
      let carol: TestSession;
      let dave: TestSession;
      let productEntry: Entry;
      let preferenceEntry: Entry;
      let companyEntry: Entry;
      const get = (url: string, session: TestSession) => harness.client.request({ url, session });
      const entries = async (url: string, session: TestSession): Promise<Entry[]> => {
        const response = await get(url, session);
        expect(response.status, url).toBe(200);
        return response.json.entries;
      };

      beforeAll(async () => {
        harness = await makeHarness(current(), {
          activity: {
            privateRecords: [{ model: 'Setting', objectId: 'user.{userId}.' }],
            // Carol is the administrator here: she sees everyone's details.
            canSeeDetails: (viewer) => String(viewer.id) === String(carol?.user.id),
            // Dave is one too, by a rule that must look him up (a role in the app's database).
            seesAllDetails: async (viewer) => {
              await new Promise((resolve) => setTimeout(resolve, 1));
              return String(viewer.id) === String(dave?.user.id);
            },
          },
        });
        alice = await signInAs(harness.app, await createTestUser(harness.persistence, 'alice'));
        bob = await signInAs(harness.app, await createTestUser(harness.persistence, 'bob'));
        carol = await signInAs(harness.app, await createTestUser(harness.persistence, 'carol'));
        dave = await signInAs(harness.app, await createTestUser(harness.persistence, 'dave'));
        const { persistence } = harness;
        const asAlice = { actor: String(alice.user.id), ip: ALICE_IP, requestId: ALICE_REQUEST };
        await persistence.runAs(asAlice, () =>
          persistence.autoSave('Product', productValues({ sku: `SKU-${newClientId()}` })),
        );
        await persistence.runAs(asAlice, () =>
          persistence.autoSave('Setting', { id: `user.${alice.user.id}.theme`, value: '"dark"' }),
        );
        await persistence.runAs(asAlice, () =>
          persistence.autoSave('Setting', { id: `app.motto-${newClientId()}`, value: '"Steady"' }),
        );
        const [company, preference, saved] = (
          await persistence.activityLog.query({ actor: String(alice.user.id), limit: 3 })
        ).entries as unknown as Entry[];
        productEntry = saved as Entry;
        preferenceEntry = preference as Entry;
        companyEntry = company as Entry;
        expect(productEntry.model).toBe('Product');
        expect(preferenceEntry.objectId).toBe(`user.${alice.user.id}.theme`);
        await harness.client.request({
          method: 'POST',
          url: SYNC,
          session: alice,
          body: {
            clientId: newClientId(),
            changes: [change(1, { key: 'alice-draft', data: { secret: 'a' } })],
          },
        });
      });
      afterAll(async () => {
        await harness.close();
      });

      it('shows a user their own entries in full: IP, request id, preferences and drafts', async () => {
        const own = await entries(`/api/activity?actor=${alice.user.id}`, alice);
        const product = own.find((e) => e.id === productEntry.id);
        expect(product).toMatchObject({ ip: ALICE_IP, requestId: ALICE_REQUEST });
        expect(own.some((e) => e.id === preferenceEntry.id)).toBe(true);
        expect(own.some((e) => e.model === 'Draft')).toBe(true);
        const whole = await get(`/api/activity/${preferenceEntry.id}`, alice);
        expect(whole.status).toBe(200);
        expect(whole.json).toMatchObject({ id: preferenceEntry.id, ip: ALICE_IP, requestId: ALICE_REQUEST });
      });

      it('shows another user none of her IP address, request id, preferences or drafts, in lists or by id', async () => {
        const seen = await entries(`/api/activity?actor=${alice.user.id}&limit=200`, bob);
        expect(seen.map((e) => e.id)).toContain(productEntry.id);
        expect(seen.map((e) => e.id)).toContain(companyEntry.id);
        expect(seen.map((e) => e.id)).not.toContain(preferenceEntry.id);
        expect(seen.some((e) => e.model === 'Draft')).toBe(false);
        for (const entry of seen) expect(entry).toMatchObject({ ip: null, requestId: null });
        const everything = await get('/api/activity?limit=200', bob);
        expect(everything.text).not.toContain(ALICE_IP);
        expect(everything.text).not.toContain(ALICE_REQUEST);
        expect(everything.text).not.toContain(`user.${alice.user.id}.`);
        const filtered = await entries(
          `/api/activity?model=Setting&objectId=user.${alice.user.id}.theme`,
          bob,
        );
        expect(filtered).toEqual([]);
        const one = await get(`/api/activity/${productEntry.id}`, bob);
        expect(one.status).toBe(200);
        expect(one.json).toMatchObject({ id: productEntry.id, ip: null, requestId: null });
        expect(one.text).not.toContain(ALICE_IP);
        const preference = await get(`/api/activity/${preferenceEntry.id}`, bob);
        expect(preference.status).toBe(404);
        expect(preference.json.error).toBe('not_found');
        expect(preference.text).not.toContain('dark');
      });

      it('lets canSeeDetails show others’ details to whom it allows, still not their private records', async () => {
        const seen = await entries(`/api/activity?actor=${alice.user.id}&limit=200`, carol);
        expect(seen.find((e) => e.id === productEntry.id)).toMatchObject({
          ip: ALICE_IP,
          requestId: ALICE_REQUEST,
        });
        expect(seen.map((e) => e.id)).not.toContain(preferenceEntry.id);
        expect((await get(`/api/activity/${preferenceEntry.id}`, carol)).status).toBe(404);
      });

      it('lets an asynchronous seesAllDetails show every entry’s details to whom it allows, still not others’ private records', async () => {
        const seen = await entries(`/api/activity?actor=${alice.user.id}&limit=200`, dave);
        expect(seen.find((e) => e.id === productEntry.id)).toMatchObject({
          ip: ALICE_IP,
          requestId: ALICE_REQUEST,
        });
        expect(seen.map((e) => e.id)).not.toContain(preferenceEntry.id);
        const one = await get(`/api/activity/${productEntry.id}`, dave);
        expect(JSON.parse(one.text)).toMatchObject({ ip: ALICE_IP, requestId: ALICE_REQUEST });
        expect((await get(`/api/activity/${preferenceEntry.id}`, dave)).status).toBe(404);
        // Bob, whom neither rule names, still sees none of it.
        const bobSees = await entries(`/api/activity?actor=${alice.user.id}&limit=200`, bob);
        expect(bobSees.find((e) => e.id === productEntry.id)).toMatchObject({ ip: null, requestId: null });
      });

      it('answers 400 for an id that is not one, 404 for none, 401 without a session, never cached', async () => {
        expect((await get('/api/activity/abc', alice)).status).toBe(400);
        expect((await get('/api/activity/0', alice)).status).toBe(400);
        expect((await get('/api/activity/99999999', alice)).status).toBe(404);
        expect((await harness.client.request({ url: `/api/activity/${productEntry.id}` })).status).toBe(401);
        const base = `/api/autosave/base/?key=product-${productEntry.objectId}&version=1`;
        expect((await get(base, alice)).status).toBe(200);
        for (const url of [
          '/api/activity',
          `/api/activity/${productEntry.id}`,
          '/api/autosave/drafts/',
          base,
        ]) {
          expect((await get(url, alice)).headers['cache-control'], url).toBe('no-store');
        }
        const synced = await harness.client.request({
          method: 'POST',
          url: SYNC,
          session: alice,
          body: { clientId: newClientId(), changes: [] },
        });
        expect(synced.headers['cache-control']).toBe('no-store');
      });
    });

    describe(`bounded in bytes over ${adapter}`, () => {
      let harness: ApiHarness;
      let dora: TestSession;
      const big = 'B'.repeat(200_000);

      beforeAll(async () => {
        harness = await makeHarness(current(), {
          limits: { ...NO_SYNC_LIMITS, activityEntryBytes: 4096, activityPageBytes: 24_000 },
        });
        dora = await signInAs(harness.app, await createTestUser(harness.persistence, 'dora'));
      });
      afterAll(async () => {
        await harness.close();
      });

      const sync = (changes: unknown[]) =>
        harness.client.request({
          method: 'POST',
          url: SYNC,
          session: dora,
          body: { clientId: newClientId(), changes },
        });

      it('shortens a huge entry in the list with a marker, and gives it whole by id', async () => {
        expect((await sync([change(1, { key: 'huge', data: { title: 'short', body: big } })])).status).toBe(
          200,
        );
        const list = await harness.client.request({
          url: '/api/activity?model=Draft&limit=200',
          session: dora,
        });
        expect(list.status).toBe(200);
        expect(list.text.length).toBeLessThan(30_000);
        const entry = (list.json.entries as Entry[]).find((e) => e.objectId.endsWith(':huge')) as Entry;
        expect(entry.truncated?.bytes).toBeGreaterThan(400_000);
        expect(entry.changes.title).toEqual([null, 'short']);
        expect(entry.changes.body?.[1]).toMatchObject({
          $truncated: true,
          preview: expect.stringMatching(/^B+…$/),
        });
        expect(entry.snapshot.title).toBe('short');
        const whole = await harness.client.request({ url: `/api/activity/${entry.id}`, session: dora });
        expect(whole.json.changes.body).toEqual([null, big]);
        expect(whole.json.snapshot.body).toBe(big);
        expect(whole.json.truncated).toBeUndefined();
      });

      it('shortens an entry of thousands of small fields by leaving its last fields out', async () => {
        const wide = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`field${i}`, `value ${i}`]));
        expect((await sync([change(1, { key: 'wide', data: wide })])).status).toBe(200);
        const list = await harness.client.request({
          url: '/api/activity?model=Draft&limit=1',
          session: dora,
        });
        const [entry] = list.json.entries as Entry[];
        expect(entry?.objectId).toMatch(/:wide$/);
        expect(entry?.truncated).toBeDefined();
        const kept = Object.keys(entry?.changes ?? {});
        expect(kept.length).toBeGreaterThan(10);
        expect(kept.length).toBeLessThan(1500);
        expect(kept[0]).toBe('field0');
        expect(list.text.length).toBeLessThan(8000);
      });

      it('ends a page before it passes activityPageBytes, and the cursor leads on to the rest', async () => {
        const clientId = newClientId();
        const value = 'M'.repeat(3000);
        const changes = Array.from({ length: 12 }, (_, i) =>
          change(i + 1, { key: `mid-${i}`, data: { value } }),
        );
        expect(
          (
            await harness.client.request({
              method: 'POST',
              url: SYNC,
              session: dora,
              body: { clientId, changes },
            })
          ).status,
        ).toBe(200);
        const seen: number[] = [];
        let url = `/api/activity?model=Draft&limit=200`;
        for (let page = 0; page < 20; page += 1) {
          const response = await harness.client.request({ url, session: dora });
          expect(response.text.length).toBeLessThan(24_000 + 4096 + 1000);
          seen.push(...(response.json.entries as Entry[]).map((e) => e.id));
          if (!response.json.nextCursor) break;
          url = `/api/activity?model=Draft&limit=200&cursor=${response.json.nextCursor}`;
        }
        expect(seen.length).toBeGreaterThan(12);
        expect(new Set(seen).size).toBe(seen.length);
        const all = await harness.persistence.activityLog.query(
          { model: 'Draft', limit: 200 },
          { viewerId: String(dora.user.id), privateModels: ['Draft'] },
          { entryBytes: 1_000_000, pageBytes: 100_000_000 },
        );
        expect(seen).toEqual(all.entries.map((e) => e.id));
      });
    });
  }
});
