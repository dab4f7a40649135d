/**
 * The sync, drafts, activity, health and metrics API, one suite run against both adapters (the
 * Fastify plugin through inject, the Express router over a real socket) on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { openDatabase } from '../../../packages/steadfast/src/db/index.js';
import { verifyActivityLog } from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import {
  ADAPTER_HARNESSES,
  type ApiHarness,
  buildTestApp,
  change,
  createTestUser,
  databaseFingerprint,
  expressHarness,
  injectClient,
  newClientId,
  SYNC,
  signInAs,
  type TestSession,
} from '../../support/http-fixtures.js';
import { createProduct } from '../../support/persistence-fixtures.js';

const METRICS_TOKEN = 'a-metrics-token-for-prometheus-0123';
const DRAFTS = '/api/autosave/drafts/';
const adapters = ADAPTER_HARNESSES;

describeEachDatabase('sync API', (current) => {
  for (const [adapter, makeHarness] of Object.entries(adapters)) {
    describe(`over ${adapter}`, () => {
      let harness: ApiHarness;
      let alice: TestSession;
      let bob: TestSession;
      const sync = (session: TestSession | undefined, body: unknown, headers?: Record<string, string>) =>
        harness.client.request({ method: 'POST', url: SYNC, body, session, headers });

      beforeAll(async () => {
        harness = await makeHarness(current(), { metrics: { token: METRICS_TOKEN } });
        alice = await signInAs(harness.app, await createTestUser(harness.persistence, 'alice'));
        bob = await signInAs(harness.app, await createTestUser(harness.persistence, 'bob'));
      });
      afterAll(async () => {
        await harness.close();
      });

      it('applies a batch, stores the drafts and logs each change as sync by the user', async () => {
        const clientId = newClientId();
        const response = await sync(alice, {
          clientId,
          changes: [
            change(1, { key: 'product-new', data: { name: 'Desk', price: '500.00' } }),
            change(2, { kind: 'state', key: 'sidebar', data: true }),
          ],
        });
        expect(response.status).toBe(200);
        expect(response.json).toMatchObject({
          status: 'ok',
          synced: 2,
          lastMutationId: 2,
          results: [
            { mutationId: 1, status: 'applied' },
            { mutationId: 2, status: 'applied' },
          ],
        });
        expect(Date.parse(response.json.serverTime)).not.toBeNaN();
        const drafts = await harness.client.request({ url: DRAFTS, session: alice });
        expect(drafts.json.drafts).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              key: 'product-new',
              kind: 'form',
              data: { name: 'Desk', price: '500.00' },
            }),
            expect.objectContaining({ key: 'sidebar', kind: 'state', data: true }),
          ]),
        );
        const log = await harness.persistence.activityLog.query({
          model: 'Draft',
          objectId: `${alice.user.id}:form:product-new`,
        });
        expect(log.entries[0]).toMatchObject({
          action: 'sync',
          actor: String(alice.user.id),
          changes: { name: [null, 'Desk'], price: [null, '500.00'] },
        });
      });

      it('answers a replayed batch with duplicate and writes nothing twice', async () => {
        const body = { clientId: newClientId(), changes: [change(1), change(2, { key: 'other' })] };
        expect((await sync(alice, body)).status).toBe(200);
        const before = await databaseFingerprint(current().opened.db);
        const replay = await sync(alice, body);
        expect(replay.status).toBe(200);
        expect(replay.json.synced).toBe(0);
        expect(replay.json.lastMutationId).toBe(2);
        expect(replay.json.results.map((r: { status: string }) => r.status)).toEqual([
          'duplicate',
          'duplicate',
        ]);
        expect(await databaseFingerprint(current().opened.db)).toBe(before);
      });

      it('refuses a batch that arrives before its predecessor with 409 and the expected id, then applies both in order', async () => {
        const clientId = newClientId();
        const first = { clientId, changes: [change(1, { data: { v: 1 } }), change(2, { data: { v: 2 } })] };
        const second = { clientId, changes: [change(3, { data: { v: 3 } }), change(4, { data: { v: 4 } })] };
        const before = await databaseFingerprint(current().opened.db);
        const early = await sync(bob, second);
        expect(early.status).toBe(409);
        expect(early.json).toMatchObject({ error: 'mutation_gap', expectedMutationId: 1 });
        expect(typeof early.json.message).toBe('string');
        expect(await databaseFingerprint(current().opened.db)).toBe(before);
        expect((await sync(bob, first)).json.lastMutationId).toBe(2);
        const late = await sync(bob, second);
        expect(late.json.results.map((r: { status: string }) => r.status)).toEqual(['applied', 'applied']);
        const draft = await harness.client.request({ url: `${DRAFTS}?key=product-new`, session: bob });
        expect(draft.json.drafts[0].data).toEqual({ v: 4 });
      });

      it('applies the changes of one batch in mutation order whatever order they are listed in', async () => {
        const clientId = newClientId();
        const response = await sync(bob, {
          clientId,
          changes: [
            change(2, { key: 'ordered', data: { v: 'second' } }),
            change(1, { key: 'ordered', data: { v: 'first' } }),
          ],
        });
        expect(response.status).toBe(200);
        expect(response.json.results.map((r: { mutationId: number }) => r.mutationId)).toEqual([1, 2]);
        const draft = await harness.client.request({ url: `${DRAFTS}?key=ordered`, session: bob });
        expect(draft.json.drafts[0].data).toEqual({ v: 'second' });
      });

      it('applies nothing of a batch with a gap inside it', async () => {
        const clientId = newClientId();
        await sync(alice, { clientId, changes: [change(1)] });
        const before = await databaseFingerprint(current().opened.db);
        const gap = await sync(alice, { clientId, changes: [change(2), change(4)] });
        expect(gap.status).toBe(409);
        expect(gap.json.expectedMutationId).toBe(3);
        expect(await databaseFingerprint(current().opened.db)).toBe(before);
      });

      it('marks a draft stale when its record moved past baseVersion, and still stores it', async () => {
        const product = await createProduct(harness.persistence);
        await harness.persistence.autoSave('Product', { id: product.id, version: 1, name: 'Renamed' });
        const key = `product-${product.id}`;
        const response = await sync(alice, {
          clientId: newClientId(),
          changes: [
            change(1, { key, baseVersion: 1, data: { name: 'Mine' } }),
            change(2, { key: `${key}-x`, baseVersion: 1 }),
          ],
        });
        expect(response.status).toBe(200);
        expect(response.json.results[0]).toEqual({ mutationId: 1, status: 'stale', currentVersion: 2 });
        expect(response.json.results[1]).toEqual({ mutationId: 2, status: 'applied' });
        const fresh = await sync(alice, {
          clientId: newClientId(),
          changes: [change(1, { key, baseVersion: 2, data: { name: 'Mine' } })],
        });
        expect(fresh.json.results[0].status).toBe('applied');
        const draft = await harness.client.request({ url: `${DRAFTS}?key=${key}`, session: alice });
        expect(draft.json.drafts[0]).toMatchObject({ data: { name: 'Mine' }, baseVersion: 2 });
      });

      it('deletes a draft with data null, and logs the deletion', async () => {
        const clientId = newClientId();
        await sync(alice, { clientId, changes: [change(1, { key: 'to-delete', data: { a: 1 } })] });
        const deleted = await sync(alice, {
          clientId,
          changes: [change(2, { key: 'to-delete', data: null })],
        });
        expect(deleted.json.results[0].status).toBe('applied');
        const gone = await harness.client.request({ url: `${DRAFTS}?key=to-delete`, session: alice });
        expect(gone.status).toBe(404);
        expect(gone.json.error).toBe('not_found');
        const log = await harness.persistence.activityLog.query({
          objectId: `${alice.user.id}:form:to-delete`,
        });
        expect(log.entries[0]?.changes).toEqual({ a: [1, null] });
      });

      it('stores the last state of a draft changed several times in one batch, logging every change in a chain', async () => {
        const clientId = newClientId();
        await sync(alice, { clientId, changes: [change(1, { key: 'twice-a', data: { v: 0 } })] });
        const response = await sync(alice, {
          clientId,
          changes: [
            change(2, { key: 'twice-a', data: { v: 1 } }),
            change(3, { key: 'twice-b', data: { v: 1 } }),
            change(4, { key: 'twice-a', data: null }),
            change(5, { key: 'twice-b', data: { v: 2 } }),
            change(6, { key: 'twice-b', data: null }),
            change(7, { key: 'twice-a', data: { v: 3 } }),
          ],
        });
        expect(response.status).toBe(200);
        expect(response.json.synced).toBe(6);
        const a = await harness.client.request({ url: `${DRAFTS}?key=twice-a`, session: alice });
        expect(a.json.drafts.map((d: { data: unknown }) => d.data)).toEqual([{ v: 3 }]);
        const b = await harness.client.request({ url: `${DRAFTS}?key=twice-b`, session: alice });
        expect(b.status).toBe(404);
        const log = await harness.persistence.activityLog.query({
          objectId: `${alice.user.id}:form:twice-a`,
        });
        expect(log.entries.map((e) => [e.version, e.snapshot])).toEqual([
          [4, { v: 3 }],
          [3, { v: 1 }],
          [2, { v: 1 }],
          [1, { v: 0 }],
        ]);
        const report = await verifyActivityLog(current().opened.db, harness.persistence.registry);
        expect(report.problems).toEqual([]);
      });

      it('never shows one user the drafts of another, even under the same key', async () => {
        await sync(alice, {
          clientId: newClientId(),
          changes: [change(1, { key: 'shared-key', data: { who: 'alice' } })],
        });
        await sync(bob, {
          clientId: newClientId(),
          changes: [change(1, { key: 'shared-key', data: { who: 'bob' } })],
        });
        const aliceDrafts = await harness.client.request({ url: DRAFTS, session: alice });
        const bobDrafts = await harness.client.request({ url: DRAFTS, session: bob });
        const whos = (response: typeof aliceDrafts) =>
          response.json.drafts
            .filter((d: { key: string }) => d.key === 'shared-key')
            .map((d: { data: { who: string } }) => d.data.who);
        expect(whos(aliceDrafts)).toEqual(['alice']);
        expect(whos(bobDrafts)).toEqual(['bob']);
        expect(JSON.stringify(aliceDrafts.json)).not.toContain('"bob"');
        const one = await harness.client.request({ url: `${DRAFTS}?key=shared-key`, session: bob });
        expect(one.json.drafts.map((d: { data: { who: string } }) => d.data.who)).toEqual(['bob']);
      });

      it('answers 403 when the clientId belongs to another user, writing nothing', async () => {
        const clientId = newClientId();
        await sync(alice, { clientId, changes: [change(1)] });
        const before = await databaseFingerprint(current().opened.db);
        const stolen = await sync(bob, { clientId, changes: [change(2)] });
        expect(stolen.status).toBe(403);
        expect(stolen.json.error).toBe('forbidden');
        expect(await databaseFingerprint(current().opened.db)).toBe(before);
      });

      it('answers an empty batch with the last applied mutation id, writing nothing, and 403 for another user’s clientId', async () => {
        const clientId = newClientId();
        const before = await databaseFingerprint(current().opened.db);
        const unknown = await sync(alice, { clientId, changes: [] });
        expect(unknown.status).toBe(200);
        expect(unknown.json).toMatchObject({ status: 'ok', synced: 0, lastMutationId: 0, results: [] });
        expect(Date.parse(unknown.json.serverTime)).not.toBeNaN();
        expect(await databaseFingerprint(current().opened.db)).toBe(before);
        await sync(alice, { clientId, changes: [change(1), change(2, { key: 'other' })] });
        const known = await sync(alice, { clientId, changes: [] });
        expect(known.json).toMatchObject({ status: 'ok', synced: 0, lastMutationId: 2, results: [] });
        const stolen = await sync(bob, { clientId, changes: [] });
        expect(stolen.status).toBe(403);
        expect(stolen.json.error).toBe('forbidden');
      });

      it('answers 400 naming the field for an invalid body', async () => {
        const bad = await sync(alice, {
          clientId: newClientId(),
          changes: [change(1, { mutationId: 'one' })],
        });
        expect(bad.status).toBe(400);
        expect(bad.json.error).toBe('invalid_request');
        expect(bad.json.message).toContain('changes.0.mutationId');
        const noClient = await sync(alice, { changes: [] });
        expect(noClient.status).toBe(400);
        expect(noClient.json.message).toContain('clientId');
      });

      it('answers 400 for malformed JSON and 415 for a body that is not JSON', async () => {
        const malformed = await sync(alice, '{"clientId": ', { 'content-type': 'application/json' });
        expect(malformed.status).toBe(400);
        expect(malformed.json.error).toBe('invalid_request');
        const xml = await sync(alice, '<sync/>', { 'content-type': 'application/xml' });
        expect(xml.status).toBe(415);
        expect(xml.json.error).toBe('unsupported_media_type');
      });

      it('answers 401 without a session and 403 with a bad or missing CSRF token', async () => {
        const body = { clientId: newClientId(), changes: [change(1)] };
        const anonymous = await harness.client.request({ method: 'POST', url: SYNC, body });
        expect(anonymous.status).toBe(401);
        expect(anonymous.json).toMatchObject({ error: 'unauthenticated' });
        const forged = await sync(alice, body, { 'x-csrf-token': 'forged' });
        expect(forged.status).toBe(403);
        expect(forged.json.error).toBe('csrf_invalid');
        const missing = await harness.client.request({
          method: 'POST',
          url: SYNC,
          body,
          headers: { cookie: alice.cookie },
        });
        expect(missing.status).toBe(403);
        const otherSessionsToken = await sync(alice, body, { 'x-csrf-token': bob.csrf });
        expect(otherSessionsToken.status).toBe(403);
      });

      it('lists the activity log newest first with filters and a cursor, 400 for a bad filter', async () => {
        const clientId = newClientId();
        await sync(bob, {
          clientId,
          changes: [change(1, { key: 'paged', data: { n: 1 } }), change(2, { key: 'paged', data: { n: 2 } })],
        });
        const objectId = `${bob.user.id}:form:paged`;
        const first = await harness.client.request({
          url: `/api/activity?model=Draft&objectId=${encodeURIComponent(objectId)}&limit=1`,
          session: bob,
        });
        expect(first.status).toBe(200);
        expect(first.json.entries).toHaveLength(1);
        expect(first.json.entries[0].version).toBe(2);
        expect(first.json.nextCursor).toMatch(/^\d+$/);
        const second = await harness.client.request({
          url: `/api/activity?model=Draft&objectId=${encodeURIComponent(objectId)}&limit=1&cursor=${first.json.nextCursor}`,
          session: bob,
        });
        expect(second.json.entries[0].version).toBe(1);
        expect(second.json.nextCursor).toBeNull();
        for (const query of ['limit=0', 'action=explode', 'from=yesterday', 'cursor=abc', 'colour=red']) {
          const bad = await harness.client.request({ url: `/api/activity?${query}`, session: alice });
          expect(bad.status, query).toBe(400);
          expect(bad.json.error).toBe('invalid_request');
        }
        expect((await harness.client.request({ url: '/api/activity' })).status).toBe(401);
      });

      it('answers 400 for a bad drafts query and 401 without a session', async () => {
        expect((await harness.client.request({ url: `${DRAFTS}?key=`, session: alice })).status).toBe(400);
        expect((await harness.client.request({ url: `${DRAFTS}?nope=1`, session: alice })).status).toBe(400);
        expect((await harness.client.request({ url: DRAFTS })).status).toBe(401);
      });

      it('reports health, and Prometheus metrics to the bearer of the metrics token only', async () => {
        const health = await harness.client.request({ url: '/health' });
        expect(health.status).toBe(200);
        expect(health.json).toEqual({ status: 'ok', database: 'up', migrations: 'current' });
        for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${METRICS_TOKEN}`]) {
          const refused = await harness.client.request({
            url: '/metrics',
            headers: authorization === undefined ? {} : { authorization },
            session: alice,
          });
          expect(refused.status, authorization).toBe(401);
          expect(refused.json.error).toBe('unauthenticated');
          expect(refused.headers['www-authenticate']).toBe('Bearer realm="metrics"');
          expect(refused.text).not.toContain('steadfast_');
        }
        const metrics = await harness.client.request({
          url: '/metrics',
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });
        expect(metrics.status).toBe(200);
        expect(metrics.text).toContain('steadfast_http_requests_total');
        expect(metrics.text).toMatch(/steadfast_sync_changes_total\{status="applied"\} [1-9]/);
        expect(metrics.text).toMatch(/steadfast_sync_changes_total\{status="duplicate"\} [1-9]/);
        expect(metrics.text).toMatch(/steadfast_sync_changes_total\{status="stale"\} [1-9]/);
        expect(metrics.text).toContain('steadfast_group_commit_size_bucket');
        expect(metrics.text).toContain('steadfast_transaction_rollbacks_total');
      });
    });

    describe(`limits over ${adapter}`, () => {
      let harness: ApiHarness;
      let carol: TestSession;
      beforeAll(async () => {
        harness = await makeHarness(current(), { limits: { syncBodyBytes: 2048, syncPerMinute: 3 } });
        carol = await signInAs(harness.app, await createTestUser(harness.persistence, 'carol'));
      });
      afterAll(async () => {
        await harness.close();
      });

      it('answers 413 for a body over the limit, and 429 past the rate limit', async () => {
        const before = await databaseFingerprint(current().opened.db);
        const huge = await harness.client.request({
          method: 'POST',
          url: SYNC,
          session: carol,
          body: { clientId: newClientId(), changes: [change(1, { data: { text: 'x'.repeat(4000) } })] },
        });
        expect(huge.status).toBe(413);
        expect(huge.json.error).toBe('payload_too_large');
        expect(await databaseFingerprint(current().opened.db)).toBe(before);
        const statuses: number[] = [];
        for (let i = 0; i < 4; i += 1) {
          const response = await harness.client.request({
            method: 'POST',
            url: SYNC,
            session: carol,
            body: { clientId: newClientId(), changes: [] },
          });
          statuses.push(response.status);
          if (response.status === 429) {
            expect(response.json.error).toBe('rate_limited');
            expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
          }
        }
        expect(statuses.at(-1)).toBe(429);
      });
    });

    describe(`storage outage over ${adapter}`, () => {
      it('answers 503 with Retry-After when the database is unavailable', async () => {
        const second = await openDatabase(current().url);
        const persistence = createAppPersistence({ db: second.db });
        const app = await buildTestApp({ ...current(), opened: second }, { persistence });
        const dave = await signInAs(app, await createTestUser(persistence, 'dave'));
        let client = injectClient(app);
        let close = async () => {};
        if (adapter === 'express') {
          const harness = await expressHarness({ ...current(), opened: second });
          client = harness.client;
          close = () => harness.close();
        }
        await second.close();
        const response = await client.request({
          method: 'POST',
          url: SYNC,
          session: dave,
          body: { clientId: newClientId(), changes: [change(1)] },
        });
        expect(response.status).toBe(503);
        expect(response.json.error).toBe('storage_unavailable');
        expect(response.headers['retry-after']).toBe('5');
        const health = await client.request({ url: '/health' });
        expect(health.status).toBe(503);
        // Which part is down, not the driver's words about it: anyone may ask.
        expect(health.json).toEqual({ status: 'unavailable', database: 'down', migrations: 'unknown' });
        await close();
        await app.close();
      });
    });
  }
});
