/**
 * Group commit: concurrent sync requests share transactions (fewer commits than requests), each
 * still succeeding or failing alone, and nothing is confirmed before its commit.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GroupCommitter } from '../../../src/server/http/index.js';
import { createPersistence, type Persistence } from '../../../src/server/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import {
  buildTestApp,
  change,
  createTestUser,
  injectClient,
  newClientId,
  signInAs,
  type TestSession,
} from '../../support/http-fixtures.js';
import { productValues } from '../../support/persistence-fixtures.js';

describeEachDatabase('group commit', (current) => {
  let app: FastifyInstance;
  let persistence: Persistence;
  let session: TestSession;

  beforeAll(async () => {
    persistence = createPersistence({ db: current().opened.db });
    app = await buildTestApp(current(), { persistence, limits: { syncPerMinute: 10_000 } });
    session = await signInAs(app, await createTestUser(persistence, 'group'));
  });
  afterAll(async () => {
    await app.close();
  });

  it('writes concurrent requests in shared transactions, one bad request failing alone', async () => {
    const client = injectClient(app);
    const good = Array.from({ length: 40 }, (_, i) => ({
      clientId: newClientId(),
      changes: [change(1, { key: `group-${i}` }), change(2, { key: `group-${i}`, data: { n: i } })],
    }));
    const bad = { clientId: newClientId(), changes: [change(5)] };
    const responses = await Promise.all(
      [...good.slice(0, 20), bad, ...good.slice(20)].map((body) =>
        client.request({ method: 'POST', url: '/api/autosave/sync/', session, body }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(40);
    expect(statuses[20]).toBe(409);
    const drafts = await current()
      .opened.db.selectFrom('drafts')
      .select('key')
      .where('user_id', '=', session.user.id)
      .where('key', 'like', 'group-%')
      .execute();
    expect(drafts).toHaveLength(40);
    const metrics = await app.metrics.metrics();
    const count = Number(/steadfast_group_commit_size_count (\d+)/.exec(metrics)?.[1]);
    const sum = Number(/steadfast_group_commit_size_sum (\d+)/.exec(metrics)?.[1]);
    expect(sum).toBeGreaterThanOrEqual(41);
    expect(count).toBeLessThan(sum); // at least one commit carried several requests
  });

  it('rolls back a unit that throws alone and still commits the others of its batch', async () => {
    const committer = new GroupCommitter({ context: persistence.context });
    const before = await current().opened.db.selectFrom('products').select('id').execute();
    const results = await Promise.allSettled([
      committer.submit({ actor: 'test' }, async () => {
        await persistence.autoSave('Product', productValues());
        return 'first';
      }),
      committer.submit({ actor: 'test' }, async () => {
        await persistence.autoSave('Product', productValues({ name: 'Undone' }));
        throw new Error('this unit fails alone');
      }),
    ]);
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: 'first' });
    expect(results[1]).toMatchObject({ status: 'rejected' });
    const after = await current().opened.db.selectFrom('products').select(['id', 'name']).execute();
    expect(after).toHaveLength(before.length + 1);
    expect(after.some((p) => p.name === 'Undone')).toBe(false);
  });
});

describeEachDatabase('closing the app', (current) => {
  it('waits for saves made outside a request to commit before it returns', async () => {
    const persistence = createPersistence({ db: current().opened.db });
    const app = await buildTestApp(current(), { persistence });
    const { record } = await persistence.autoSave('Product', productValues());
    const pending = [1, 2, 3].map(() => persistence.autoSave('Product', productValues()));
    const update = persistence.autoSave('Product', { id: record.id, quantity: 99 });
    await app.close();
    const row = await current()
      .opened.db.selectFrom('products')
      .select('quantity')
      .where('id', '=', Number(record.id))
      .executeTakeFirstOrThrow();
    expect(row.quantity).toBe(99);
    await Promise.all([...pending, update]);
  });
});
