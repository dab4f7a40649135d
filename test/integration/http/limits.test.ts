/**
 * The quotas per user (options `limits`), each on both adapters and both databases: the request
 * over a limit is refused before anything is written, with 413 or 429 (and Retry-After), a body
 * naming the limit, and the database exactly as it was; requests within it go on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countKeys } from '../../../packages/steadfast/src/sync/draft-limits.js';
import { describeEachDatabase } from '../../support/databases.js';
import {
  ADAPTER_HARNESSES,
  type ApiHarness,
  change,
  createTestUser,
  databaseFingerprint,
  type HarnessOptions,
  newClientId,
  SYNC,
  signInAs,
  type TestSession,
} from '../../support/http-fixtures.js';

const adapters = ADAPTER_HARNESSES;

/** A draft whose JSON is exactly `bytes` long: `{"text":"xxx…"}`. */
const draftOfBytes = (bytes: number) => ({ text: 'x'.repeat(bytes - '{"text":""}'.length) });

describe('countKeys', () => {
  it('counts object keys at every depth, arrays holding objects too, and stops past the limit', () => {
    expect(countKeys({ a: 1, b: { c: 2, d: [{ e: 3 }, 4] } }, 100)).toBe(5);
    expect(countKeys('text', 100)).toBe(0);
    expect(countKeys([{ a: 1 }, { b: 2 }], 100)).toBe(2);
    const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    expect(countKeys(wide, 10)).toBeLessThanOrEqual(10_000);
    expect(countKeys(wide, 10)).toBeGreaterThan(10);
  });
});

describeEachDatabase('sync quotas', (current) => {
  for (const [adapter, makeHarness] of Object.entries(adapters)) {
    describe(`sizes and stored drafts over ${adapter}`, () => {
      const limits: HarnessOptions['limits'] = {
        draftBytes: 1000,
        draftKeys: 20,
        draftsPerUser: 3,
        draftBytesPerUser: 2000,
        changesPerMinute: 10_000,
        syncBytesPerMinute: 10_000_000,
      };
      let harness: ApiHarness;
      const sync = (session: TestSession, body: unknown) =>
        harness.client.request({ method: 'POST', url: SYNC, body, session });
      const user = async (name: string) =>
        signInAs(harness.app, await createTestUser(harness.persistence, name));
      /** Sends `body` expecting a refusal; asserts nothing was written and returns the answer. */
      const refused = async (session: TestSession, body: unknown) => {
        const before = await databaseFingerprint(current().opened.db);
        const response = await sync(session, body);
        expect(await databaseFingerprint(current().opened.db)).toBe(before);
        return response;
      };

      beforeAll(async () => {
        harness = await makeHarness(current(), { limits });
      });
      afterAll(async () => {
        await harness.close();
      });

      it('refuses a draft larger than draftBytes with 413 naming the limit and the key, writing nothing of the batch', async () => {
        const ann = await user('ann');
        const ok = await sync(ann, {
          clientId: newClientId(),
          changes: [change(1, { data: draftOfBytes(1000) })],
        });
        expect(ok.status).toBe(200);
        const response = await refused(ann, {
          clientId: newClientId(),
          changes: [
            change(1, { key: 'small', data: { a: 1 } }),
            change(2, { key: 'big', data: draftOfBytes(1001) }),
          ],
        });
        expect(response.status).toBe(413);
        expect(response.json).toMatchObject({
          error: 'payload_too_large',
          limit: 'draftBytes',
          max: 1000,
          key: 'big',
        });
        expect(response.json.message).toContain('limits.draftBytes');
        expect(response.headers['retry-after']).toBeUndefined();
      });

      it('refuses a draft with more than draftKeys keys (counted at every depth) with 413', async () => {
        const ben = await user('ben');
        const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, i]));
        expect(
          (await sync(ben, { clientId: newClientId(), changes: [change(1, { data: twenty })] })).status,
        ).toBe(200);
        const nested = { outer: { ...twenty } }; // 21 keys
        const response = await refused(ben, {
          clientId: newClientId(),
          changes: [change(1, { data: nested })],
        });
        expect(response.status).toBe(413);
        expect(response.json).toMatchObject({ error: 'payload_too_large', limit: 'draftKeys', max: 20 });
        expect(response.json.message).toContain('limits.draftKeys');
      });

      it('refuses a new draft past draftsPerUser with 413 quota_exceeded; updates and deletes still pass, and a deletion makes room', async () => {
        const cat = await user('cat');
        const clientId = newClientId();
        const first = await sync(cat, {
          clientId,
          changes: [change(1, { key: 'a' }), change(2, { key: 'b' }), change(3, { key: 'c' })],
        });
        expect(first.status).toBe(200);
        const over = await refused(cat, { clientId, changes: [change(4, { key: 'd' })] });
        expect(over.status).toBe(413);
        expect(over.json).toMatchObject({ error: 'quota_exceeded', limit: 'draftsPerUser', max: 3 });
        expect(over.json.message).toContain('limits.draftsPerUser');
        // The refused change moved nothing: the client's next id is still 4.
        const update = await sync(cat, { clientId, changes: [change(4, { key: 'a', data: { v: 2 } })] });
        expect(update.json.results).toEqual([{ mutationId: 4, status: 'applied' }]);
        // A deletion and a new draft in one batch keep the count: accepted.
        const swap = await sync(cat, {
          clientId,
          changes: [change(5, { key: 'b', data: null }), change(6, { key: 'd' })],
        });
        expect(swap.status).toBe(200);
        // Another user is not counted with this one.
        const dan = await user('dan');
        expect(
          (await sync(dan, { clientId: newClientId(), changes: [change(1, { key: 'a' })] })).status,
        ).toBe(200);
      });

      it('refuses growth past draftBytesPerUser with 413 quota_exceeded; up to it and shrinking pass', async () => {
        const eve = await user('eve');
        const clientId = newClientId();
        const first = await sync(eve, {
          clientId,
          changes: [
            change(1, { key: 'one', data: draftOfBytes(1000) }),
            change(2, { key: 'two', data: draftOfBytes(900) }),
          ],
        });
        expect(first.status).toBe(200);
        // Exactly at the limit: 1000 + 1000.
        const full = await sync(eve, {
          clientId,
          changes: [change(3, { key: 'two', data: draftOfBytes(1000) })],
        });
        expect(full.status).toBe(200);
        const over = await refused(eve, { clientId, changes: [change(4, { key: 'three', data: { a: 1 } })] });
        expect(over.status).toBe(413);
        expect(over.json).toMatchObject({ error: 'quota_exceeded', limit: 'draftBytesPerUser', max: 2000 });
        expect(over.json.message).toContain('limits.draftBytesPerUser');
        const shrink = await sync(eve, {
          clientId,
          changes: [change(4, { key: 'one', data: draftOfBytes(100) })],
        });
        expect(shrink.status).toBe(200);
        const room = await sync(eve, {
          clientId,
          changes: [change(5, { key: 'three', data: draftOfBytes(900) })],
        });
        expect(room.status).toBe(200);
      });

      it('refuses only the request over the quota in a group commit; the others of the group are applied', async () => {
        if (adapter !== 'fastify') return; // the service is the same; one adapter reaches it directly
        const fay = await user('fay');
        const gus = await user('gus');
        const service = harness.app.steadfast.syncService;
        const outcomes = await Promise.allSettled([
          service.sync(fay.user, { clientId: newClientId(), changes: [change(1, { key: 'a' })] }),
          service.sync(fay.user, {
            clientId: newClientId(),
            changes: [change(1, { key: 'b' }), change(2, { key: 'c' }), change(3, { key: 'd' })],
          }),
          service.sync(gus.user, { clientId: newClientId(), changes: [change(1, { key: 'a' })] }),
          service.sync(fay.user, { clientId: newClientId(), changes: [change(1, { key: 'e' })] }),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
        expect(outcomes[1]).toMatchObject({ reason: { code: 'quota_exceeded', limit: 'draftsPerUser' } });
        const keys = await current()
          .opened.db.selectFrom('steadfast_drafts')
          .select('key')
          .where('user_id', '=', String(fay.user.id))
          .orderBy('key')
          .execute();
        expect(keys.map((row) => row.key)).toEqual(['a', 'e']);
      });
    });

    describe(`rates over ${adapter}`, () => {
      let harness: ApiHarness;
      const sync = (session: TestSession, body: unknown) =>
        harness.client.request({ method: 'POST', url: SYNC, body, session });
      const user = async (name: string) =>
        signInAs(harness.app, await createTestUser(harness.persistence, name));

      const raw = (session: TestSession, body: string) =>
        harness.client.request({
          method: 'POST',
          url: SYNC,
          body,
          session,
          headers: { 'content-type': 'application/json' },
        });

      beforeAll(async () => {
        // Token buckets: bursts of a sixth of the minute (5 changes, 5000 bytes), refilled steadily
        // (one change every 2 s, 500 bytes a second), slow enough for the test's steps.
        harness = await makeHarness(current(), {
          limits: { changesPerMinute: 30, syncBytesPerMinute: 30_000 },
        });
      });
      afterAll(async () => {
        await harness.close();
      });

      it('refuses changes past changesPerMinute with 429 and Retry-After, counting only what it accepted', async () => {
        const hal = await user('hal');
        const clientId = newClientId();
        const first = await sync(hal, { clientId, changes: [change(1), change(2), change(3), change(4)] });
        expect(first.status).toBe(200);
        const before = await databaseFingerprint(current().opened.db);
        const over = await sync(hal, { clientId, changes: [change(5), change(6), change(7)] });
        expect(over.status).toBe(429);
        expect(over.json).toMatchObject({ error: 'rate_limited', limit: 'changesPerMinute', max: 30 });
        expect(over.json.message).toContain('limits.changesPerMinute');
        expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
        expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);
        expect(await databaseFingerprint(current().opened.db)).toBe(before);
        // The refusal took nothing: one more change still fits.
        expect((await sync(hal, { clientId, changes: [change(5)] })).status).toBe(200);
        expect((await sync(hal, { clientId, changes: [change(6)] })).status).toBe(429);
        // Spent: refused before the body is read (a malformed one would otherwise answer 400).
        const unread = await raw(hal, '{"clientId": ');
        expect(unread.status).toBe(429);
        expect(unread.json.limit).toBe('changesPerMinute');
        // Another user has an allowance of their own.
        const ida = await user('ida');
        expect((await sync(ida, { clientId: newClientId(), changes: [change(1)] })).status).toBe(200);
      });

      it('refuses body bytes past syncBytesPerMinute with 429 and Retry-After, before reading the body', async () => {
        const jon = await user('jon');
        const clientId = newClientId();
        const first = { clientId, changes: [change(1, { data: draftOfBytes(3000) })] };
        expect(JSON.stringify(first).length).toBeLessThan(3400);
        expect((await sync(jon, first)).status).toBe(200);
        const before = await databaseFingerprint(current().opened.db);
        const over = await sync(jon, { clientId, changes: [change(2, { data: draftOfBytes(3000) })] });
        expect(over.status).toBe(429);
        expect(over.json).toMatchObject({ error: 'rate_limited', limit: 'syncBytesPerMinute', max: 30_000 });
        expect(over.json.message).toContain('limits.syncBytesPerMinute');
        expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
        expect(await databaseFingerprint(current().opened.db)).toBe(before);
        // Counted from Content-Length: a malformed body too large for what is left is never parsed.
        const unread = await raw(jon, `{"clientId": "${'x'.repeat(3000)}`);
        expect(unread.status).toBe(429);
        expect(unread.json.limit).toBe('syncBytesPerMinute');
        const small = await sync(jon, { clientId, changes: [change(2, { data: { a: 1 } })] });
        expect(small.status).toBe(200);
      });
    });
  }
});

describe('limits options', () => {
  it('refuses a draftBytes larger than draftBytesPerUser at start', async () => {
    const { parseSteadfastOptions } = await import('../../../packages/steadfast/src/http/index.js');
    const persistence = { autoSave() {}, context: {}, db: {} };
    expect(() =>
      parseSteadfastOptions({
        persistence,
        sessionSecret: 'x'.repeat(32),
        limits: { draftBytes: 10, draftBytesPerUser: 5 },
      }),
    ).toThrow(/limits\.draftBytes: must not exceed limits\.draftBytesPerUser/);
    expect(() =>
      parseSteadfastOptions({ persistence, sessionSecret: 'x'.repeat(32), limits: { changesPerMinute: 0 } }),
    ).toThrow(/limits\.changesPerMinute/);
  });
});
