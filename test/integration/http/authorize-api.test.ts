/**
 * The `authorize` hook behind the API, on both adapters and both databases: a sync whose drafts it
 * refuses, a log query, a log entry and a stale draft's base are each answered 403
 * `{error: 'forbidden', message}` with nothing written; the hook hears the signed-in user (the
 * Express router enters no actor frame of its own: the services run as the user), and the
 * other requests of a group commit go on.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toApiError } from '../../../packages/steadfast/src/http/index.js';
import {
  type AuthorizeDecision,
  type AuthorizeRequest,
  ForbiddenError,
} from '../../../packages/steadfast/src/persistence/index.js';
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
import { dumpTables, expectOnlyRefusalsAdded } from '../../support/table-dump.js';

const adapters = ADAPTER_HARNESSES;
type Rule = (request: AuthorizeRequest) => AuthorizeDecision;

describe('the error map', () => {
  it('answers a ForbiddenError 403 forbidden with its message', () => {
    const { status, body } = toApiError(
      new ForbiddenError('update', 'Setting', 'app.currency', 'Admins only.'),
    );
    expect(status).toBe(403);
    expect(body).toEqual({ error: 'forbidden', message: 'Admins only.' });
  });
});

describeEachDatabase('authorize hook behind the API', (current) => {
  for (const [adapter, makeHarness] of Object.entries(adapters)) {
    describe(`over ${adapter}`, () => {
      let harness: ApiHarness;
      let alice: TestSession;
      let bob: TestSession;
      let rule: Rule = () => true;
      let asked: AuthorizeRequest[] = [];
      const isBob = (request: AuthorizeRequest) => request.actor.actor === String(bob.user.id);
      const dump = () => dumpTables(current().opened.db);
      const sync = (session: TestSession, changes: unknown[], clientId = newClientId()) =>
        harness.client.request({ method: 'POST', url: SYNC, session, body: { clientId, changes } });

      beforeAll(async () => {
        harness = await makeHarness(
          current(),
          { limits: NO_SYNC_LIMITS },
          {
            authorize: (request) => {
              asked.push(request);
              return rule(request);
            },
          },
        );
        alice = await signInAs(harness.app, await createTestUser(harness.persistence, 'alice'));
        bob = await signInAs(harness.app, await createTestUser(harness.persistence, 'bob'));
      });
      afterAll(async () => {
        await harness.close();
      });
      beforeEach(() => {
        rule = () => true;
        asked = [];
      });

      it('a sync whose draft the hook refuses answers 403 and writes nothing; the hook hears the user', async () => {
        rule = (request) => (isBob(request) ? { refuse: 'Viewers keep no drafts here.' } : true);
        const before = await dump();
        const refused = await sync(bob, [
          change(1, { key: 'product-new', data: { name: 'Desk' } }),
          change(2),
        ]);
        expect(refused.status).toBe(403);
        expect(refused.json).toEqual({ error: 'forbidden', message: 'Viewers keep no drafts here.' });
        // A refused sync is not a refusal worth logging by default: a client retries its queue.
        expect(await dump()).toEqual(before);
        expect(asked).toEqual([
          {
            actor: expect.objectContaining({ actor: String(bob.user.id) }),
            action: 'sync',
            model: 'Draft',
            objectId: `${bob.user.id}:form:product-new`,
            record: undefined,
            values: { kind: 'form', key: 'product-new', data: { name: 'Desk' } },
          },
        ]);
        const allowed = await sync(alice, [change(1)]);
        expect(allowed.status).toBe(200);
        expect(allowed.json.results).toEqual([{ mutationId: 1, status: 'applied' }]);
      });

      it('a refused sync it says to record is logged once, though the request wrote nothing', async () => {
        rule = (request) => (isBob(request) ? { refuse: 'No.', record: true } : true);
        const before = await dump();
        const refused = await sync(bob, [change(1, { key: 'ui/panel', kind: 'state', data: 3 })]);
        expect(refused.status).toBe(403);
        const [refusal, ...more] = expectOnlyRefusalsAdded(before, await dump());
        expect(more).toEqual([]);
        expect(refusal).toMatchObject({
          actor: String(bob.user.id),
          object_id: `Draft:${bob.user.id}:state:ui/panel`,
        });
      });

      it('concurrent syncs: the refused one is answered 403 alone, the others apply', async () => {
        rule = (request) => (isBob(request) ? { refuse: 'No.', record: true } : true);
        const before = await dump();
        const responses = await Promise.all([
          sync(alice, [change(1, { key: 'a-1' })]),
          sync(bob, [change(1, { key: 'b-1' })]),
          sync(alice, [change(1, { key: 'a-2' })]),
          sync(alice, [change(1, { key: 'a-3' })]),
        ]);
        expect(responses.map((response) => response.status)).toEqual([200, 403, 200, 200]);
        const after = await dump();
        const drafts = (after.steadfast_drafts ?? []).map((row) => `${row.user_id}:${row.key}`);
        for (const key of ['a-1', 'a-2', 'a-3']) expect(drafts).toContain(`${alice.user.id}:${key}`);
        expect(drafts).not.toContain(`${bob.user.id}:b-1`);
        const refusals = (after.steadfast_activity_log ?? []).filter(
          (row) => row.action === 'refused' && row.object_id === `Draft:${bob.user.id}:form:b-1`,
        );
        expect(refusals).toHaveLength(1);
        expect((before.steadfast_drafts ?? []).length + 3).toBe(after.steadfast_drafts?.length);
      });

      it('a log query the hook refuses answers 403, asked as the user with the filters', async () => {
        rule = (request) => !(request.action === 'read-log' && isBob(request));
        const refused = await harness.client.request({ url: '/api/activity?model=Setting', session: bob });
        expect(refused.status).toBe(403);
        expect(refused.json.error).toBe('forbidden');
        expect(typeof refused.json.message).toBe('string');
        expect(asked).toEqual([
          {
            actor: expect.objectContaining({ actor: String(bob.user.id) }),
            action: 'read-log',
            model: 'Setting',
            objectId: undefined,
            record: undefined,
            values: undefined,
          },
        ]);
        const allowed = await harness.client.request({ url: '/api/activity?model=Setting', session: alice });
        expect(allowed.status).toBe(200);
      });

      it('one log entry the hook refuses answers 403', async () => {
        const { persistence } = harness;
        const saved = await persistence.autoSave('Product', productValues());
        const entryId = saved.entry?.id;
        rule = (request) => !(request.action === 'read-log' && request.model === 'Product' && isBob(request));
        const refused = await harness.client.request({ url: `/api/activity/${entryId}`, session: bob });
        expect(refused.status).toBe(403);
        expect(refused.json.error).toBe('forbidden');
        const allowed = await harness.client.request({ url: `/api/activity/${entryId}`, session: alice });
        expect(allowed.status).toBe(200);
        expect(allowed.json.id).toBe(entryId);
      });

      it("a stale draft's base the hook refuses answers 403", async () => {
        const { persistence } = harness;
        const saved = await persistence.autoSave('Product', productValues());
        const id = Number(saved.record.id);
        await persistence.autoSave('Product', { id, quantity: 99 });
        asked = [];
        rule = (request) => !(request.action === 'read-log' && isBob(request));
        const url = `/api/autosave/base/?key=product-${id}&version=1`;
        const refused = await harness.client.request({ url, session: bob });
        expect(refused.status).toBe(403);
        expect(refused.json.error).toBe('forbidden');
        expect(asked[0]).toMatchObject({ action: 'read-log', model: 'Product', objectId: String(id) });
        const allowed = await harness.client.request({ url, session: alice });
        expect(allowed.status).toBe(200);
        expect(allowed.json.status).toBe('found');
      });
    });
  }
});
