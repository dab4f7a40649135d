/**
 * The request id logged with each change on the Express router: the one the app's middleware gave
 * the request, else a new one; never the client's `x-request-id`, which would reach the audit log
 * unchecked (Fastify's request.id makes the same choice).
 */
import { afterEach, expect, it } from 'vitest';
import { describeEachDatabase } from '../../support/databases.js';
import {
  type ApiHarness,
  change,
  createTestUser,
  expressHarness,
  newClientId,
  SYNC,
  signInAs,
} from '../../support/http-fixtures.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describeEachDatabase('request ids in the log (Express)', (current) => {
  let harness: ApiHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  /** Syncs one draft with a forged x-request-id; the request id its log entry holds. */
  async function loggedRequestId(opened: ApiHarness, key: string): Promise<string | null> {
    const session = await signInAs(opened.app, await createTestUser(opened.persistence, 'rid'));
    const response = await opened.client.request({
      method: 'POST',
      url: SYNC,
      session,
      headers: { 'x-request-id': 'forged by the client' },
      body: { clientId: newClientId(), changes: [change(1, { key })] },
    });
    expect(response.status).toBe(200);
    const entry = await current()
      .opened.db.selectFrom('steadfast_activity_log')
      .select('request_id')
      .where('actor', '=', String(session.user.id))
      .where('action', '=', 'sync')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    return entry.request_id;
  }

  it('logs a new id, not the client’s header, when the app gives the request none', async () => {
    harness = await expressHarness(current());
    const first = await loggedRequestId(harness, 'rid-one');
    const second = await loggedRequestId(harness, 'rid-two');
    expect(first).toMatch(UUID);
    expect(second).toMatch(UUID);
    expect(second).not.toBe(first);
  });

  it('logs the id the app’s own middleware gave the request', async () => {
    harness = await expressHarness(current(), {}, {}, [
      (request, _response, next) => {
        (request as typeof request & { id: string }).id = 'app-request-7';
        next();
      },
    ]);
    expect(await loggedRequestId(harness, 'rid-app')).toBe('app-request-7');
  });
});
