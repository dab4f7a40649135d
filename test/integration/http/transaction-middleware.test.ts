/**
 * The per-request transaction (ATOMIC_REQUESTS): writes commit before the answer, a throw or an
 * error status undoes them with their log entries, onCommit runs only after a commit, and the
 * actor, request id and IP reach the change tracker.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import type { Persistence } from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import {
  buildTestApp,
  createTestUser,
  injectClient,
  signInAs,
  type TestSession,
} from '../../support/http-fixtures.js';
import { productValues, snapshotTables } from '../../support/persistence-fixtures.js';

describeEachDatabase('transaction middleware', (current) => {
  let app: FastifyInstance;
  let persistence: Persistence;
  let session: TestSession;
  const committed: string[] = [];

  beforeAll(async () => {
    persistence = createAppPersistence({ db: current().opened.db });
    app = await buildTestApp(current(), { persistence }, (app) => {
      app.post('/test/write', async () => {
        const { record } = await persistence.autoSave('Product', productValues({ name: 'Committed' }));
        persistence.onCommit(() => committed.push(String(record.id)));
        return { id: record.id };
      });
      app.post('/test/write-then-throw', async () => {
        const { record } = await persistence.autoSave('Product', productValues({ name: 'Thrown' }));
        persistence.onCommit(() => committed.push(`never ${String(record.id)}`));
        throw new Error('handler failed after writing');
      });
      app.post('/test/write-then-422', async (_request, reply) => {
        await persistence.autoSave('Product', productValues({ name: 'Refused' }));
        return reply.code(422).send({ error: 'invalid_request', message: 'refused after writing' });
      });
      app.post('/test/write-twice-no-transaction', { config: { transaction: false } }, async () => {
        await persistence.autoSave('Product', productValues({ name: 'Autocommitted' }));
        throw new Error('second step failed');
      });
      app.get('/test/actor', async () => ({
        actor: persistence.context.actor(),
        inTransaction: persistence.context.inTransaction(),
      }));
      app.post('/test/actor', async () => ({
        actor: persistence.context.actor(),
        inTransaction: persistence.context.inTransaction(),
      }));
    });
    session = await signInAs(app, await createTestUser(persistence, 'tx'));
  });
  afterAll(async () => {
    await app.close();
  });

  const post = (url: string) => injectClient(app).request({ method: 'POST', url, session, body: {} });

  it('commits the writes before answering and runs onCommit afterwards, logged as the user', async () => {
    const response = await post('/test/write');
    expect(response.status).toBe(200);
    const id = String(response.json.id);
    expect(committed).toContain(id);
    const row = await current()
      .opened.db.selectFrom('products')
      .selectAll()
      .where('id', '=', Number(id))
      .executeTakeFirst();
    expect(row?.name).toBe('Committed');
    const { entries } = await persistence.activityLog.query({ model: 'Product', objectId: id });
    expect(entries[0]).toMatchObject({ actor: String(session.user.id), ip: '127.0.0.1' });
    expect(entries[0]?.requestId).toMatch(/^req-/);
  });

  it('leaves nothing written and nothing logged when the handler throws after writing', async () => {
    const before = await snapshotTables(current().opened.db);
    const calls = committed.length;
    const response = await post('/test/write-then-throw');
    expect(response.status).toBe(500);
    expect(response.json).toEqual({
      error: 'internal_error',
      message: 'Something went wrong on the server.',
    });
    expect(await snapshotTables(current().opened.db)).toEqual(before);
    expect(committed.length).toBe(calls);
  });

  it('rolls back when the handler answers with an error status', async () => {
    const before = await snapshotTables(current().opened.db);
    const response = await post('/test/write-then-422');
    expect(response.status).toBe(422);
    expect(await snapshotTables(current().opened.db)).toEqual(before);
    const metrics = await app.metrics.metrics();
    expect(metrics).toMatch(/steadfast_transaction_rollbacks_total\{reason="error_status"\} [1-9]/);
  });

  it('leaves a route with transaction: false to autocommit each save', async () => {
    const before = await snapshotTables(current().opened.db);
    const response = await post('/test/write-twice-no-transaction');
    expect(response.status).toBe(500);
    const after = await snapshotTables(current().opened.db);
    expect(after.products.length).toBe(before.products.length + 1);
  });

  it('gives GET requests the actor but no transaction, and writes a transaction', async () => {
    const get = await injectClient(app).request({ url: '/test/actor', session });
    expect(get.json).toMatchObject({ actor: { actor: String(session.user.id) }, inTransaction: false });
    const anonymous = await injectClient(app).request({ url: '/test/actor' });
    expect(anonymous.json.actor.actor).toBe('system');
    const write = await post('/test/actor');
    expect(write.json.inTransaction).toBe(true);
  });

  it('keeps concurrent write requests apart: one failing does not undo another', async () => {
    const before = await snapshotTables(current().opened.db);
    const responses = await Promise.all([
      post('/test/write'),
      post('/test/write-then-throw'),
      post('/test/write'),
      post('/test/write-then-422'),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 500, 200, 422]);
    const after = await snapshotTables(current().opened.db);
    expect(after.products.length).toBe(before.products.length + 2);
    expect(after.products.filter((p) => p.name === 'Thrown' || p.name === 'Refused')).toEqual([]);
  });
});
