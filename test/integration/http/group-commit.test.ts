/**
 * Group commit: concurrent sync requests share transactions (fewer commits than requests), each
 * still succeeding or failing alone, and nothing is confirmed before its commit.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { GroupCommitter } from '../../../packages/steadfast/src/http/index.js';
import { verifyActivityLog } from '../../../packages/steadfast/src/persistence/activity-integrity.js';
import type { Persistence } from '../../../packages/steadfast/src/persistence/index.js';
import { DRAFT_MODEL } from '../../../packages/steadfast/src/sync/sync-service.js';
import { describeEachDatabase, type TestDatabase } from '../../support/databases.js';
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
    persistence = createAppPersistence({ db: current().opened.db });
    // Far past the quotas' defaults: one user here sends thousands of drafts, on purpose.
    app = await buildTestApp(current(), {
      persistence,
      limits: { syncPerMinute: 10_000, changesPerMinute: 100_000, draftsPerUser: 100_000 },
    });
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
      .opened.db.selectFrom('steadfast_drafts')
      .select('key')
      .where('user_id', '=', String(session.user.id))
      .where('key', 'like', 'group-%')
      .execute();
    expect(drafts).toHaveLength(40);
    const metrics = await app.metrics.metrics();
    const count = Number(/steadfast_group_commit_size_count (\d+)/.exec(metrics)?.[1]);
    const sum = Number(/steadfast_group_commit_size_sum (\d+)/.exec(metrics)?.[1]);
    expect(sum).toBeGreaterThanOrEqual(41);
    expect(count).toBeLessThan(sum); // at least one commit carried several requests
  });

  /** Group commits so far by how their requests were applied (lone, together, separately). */
  async function commitsBy(applied: string): Promise<number> {
    const text = await app.metrics.getSingleMetricAsString('steadfast_group_commits_total');
    const line = new RegExp(
      `\\{[^}]*applied="${applied}"[^}]*outcome="committed"[^}]*\\} (\\d+)|\\{[^}]*outcome="committed"[^}]*applied="${applied}"[^}]*\\} (\\d+)`,
    );
    const match = line.exec(text);
    return Number(match?.[1] ?? match?.[2] ?? 0);
  }

  function sync(body: unknown, as: TestSession = session) {
    return injectClient(app).request({ method: 'POST', url: '/api/autosave/sync/', session: as, body });
  }

  /**
   * Submits every body in this one turn, in order, straight to the sync service: over HTTP the
   * requests' session reads could reorder them, and these tests are about order within one group.
   */
  function syncInOneGroup(bodies: ReadonlyArray<{ body: unknown; as?: TestSession }>) {
    return Promise.allSettled(
      bodies.map(({ body, as = session }) => app.steadfast.syncService.sync(as.user, body)),
    );
  }

  it('applies the requests of one group in order, in shared statements: one client, one draft, chained', async () => {
    const together = await commitsBy('together');
    const clientId = newClientId();
    const other = newClientId();
    const key = `shared-${newClientId()}`;
    // `other` is a stored client, `clientId` a new one.
    await app.steadfast.syncService.sync(session.user, {
      clientId: other,
      changes: [change(1, { key: `${key}-before` })],
    });
    // One client's consecutive batches, a replay of its first, and another client (same user, same
    // draft) between them: each request sees the ones before it in the same group.
    const outcomes = await syncInOneGroup([
      {
        body: { clientId, changes: [change(1, { key, data: { n: 1 } }), change(2, { key, data: { n: 2 } })] },
      },
      { body: { clientId: other, changes: [change(2, { key, data: { n: 3 } })] } },
      {
        body: { clientId, changes: [change(4, { key, data: { n: 5 } }), change(3, { key, data: { n: 4 } })] },
      },
      {
        body: { clientId, changes: [change(1, { key, data: { n: 1 } }), change(2, { key, data: { n: 2 } })] },
      },
      { body: { clientId, changes: [change(6, { key, data: { n: 6 } })] } },
    ]);
    const responses = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
    expect(responses.map((r) => r?.lastMutationId)).toEqual([2, 2, 4, 4, undefined]);
    expect(responses[2]?.results).toEqual([
      { mutationId: 3, status: 'applied' },
      { mutationId: 4, status: 'applied' },
    ]);
    expect(responses[3]?.results).toEqual([
      { mutationId: 1, status: 'duplicate' },
      { mutationId: 2, status: 'duplicate' },
    ]);
    // The gap (6 after 4) is refused alone, with nothing of it written.
    expect(outcomes[4]).toMatchObject({ status: 'rejected', reason: { code: 'mutation_gap' } });
    expect(await commitsBy('together')).toBeGreaterThan(together);

    const { db } = current().opened;
    const draft = await db
      .selectFrom('steadfast_drafts')
      .select('data')
      .where('user_id', '=', String(session.user.id))
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(draft.data)).toEqual({ n: 5 });
    const clients = await db
      .selectFrom('steadfast_sync_clients')
      .select(['client_id', 'last_mutation_id'])
      .where('client_id', 'in', [clientId, other])
      .execute();
    expect(Object.fromEntries(clients.map((c) => [c.client_id, Number(c.last_mutation_id)]))).toEqual({
      [clientId]: 4,
      [other]: 2,
    });
    const entries = await db
      .selectFrom('steadfast_activity_log')
      .select(['version', 'changes', 'actor'])
      .where('model', '=', DRAFT_MODEL)
      .where('object_id', '=', `${session.user.id}:form:${key}`)
      .orderBy('id')
      .execute();
    expect(entries.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
    expect(entries.map((e) => JSON.parse(e.changes).n)).toEqual([
      [null, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set([String(session.user.id)]));
    const report = await verifyActivityLog(db, persistence.registry);
    expect(report.problems).toEqual([]);
  });

  it('keeps two users apart in one group: a clientId taken by the first is refused to the second', async () => {
    const second = await signInAs(app, await createTestUser(persistence, 'group2'));
    const clientId = newClientId();
    const key = `both-${newClientId()}`;
    const outcomes = await syncInOneGroup([
      { body: { clientId, changes: [change(1, { key, data: { who: 'first' } })] } },
      { body: { clientId, changes: [change(2, { key, data: { who: 'second' } })] }, as: second },
      {
        body: { clientId: newClientId(), changes: [change(1, { key, data: { who: 'second' } })] },
        as: second,
      },
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[1]).toMatchObject({ reason: { code: 'forbidden' } });
    const { db } = current().opened;
    const rows = await db
      .selectFrom('steadfast_drafts')
      .select(['user_id', 'data'])
      .where('key', '=', key)
      .orderBy('user_id')
      .execute();
    expect(rows.map((r) => [r.user_id, JSON.parse(r.data).who])).toEqual([
      // Drafts keep their owner's id as text: an app's own sign-in may name users by UUID.
      [String(session.user.id), 'first'],
      [String(second.user.id), 'second'],
    ]);
    const logged = await db
      .selectFrom('steadfast_activity_log')
      .select('actor')
      .where('model', '=', DRAFT_MODEL)
      .where('object_id', 'like', `%:form:${key}`)
      .orderBy('actor')
      .execute();
    expect(logged.map((e) => e.actor).sort()).toEqual(
      [String(session.user.id), String(second.user.id)].sort(),
    );
  });

  it("applies a group of large requests together, its log entries and drafts past one statement's parameter limit", async () => {
    const together = await commitsBy('together');
    // 10 × 500 changes: 5,000 log entries (12 parameters each) and 5,000 distinct drafts (7 each),
    // each far past SQLite's 32,766 parameters in one statement.
    const bodies = Array.from({ length: 10 }, (_, unit) => ({
      body: {
        clientId: newClientId(),
        changes: Array.from({ length: 500 }, (_, i) =>
          change(i + 1, { key: `large-${unit}-${i}`, data: { n: i } }),
        ),
      },
    }));
    const outcomes = await syncInOneGroup(bodies);
    expect(outcomes.map((o) => o.status)).toEqual(Array(10).fill('fulfilled'));
    expect(await commitsBy('together')).toBe(together + 1);
    const { db } = current().opened;
    const { count } = await db
      .selectFrom('steadfast_activity_log')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('model', '=', DRAFT_MODEL)
      .where('object_id', 'like', `${session.user.id}:form:large-%`)
      .executeTakeFirstOrThrow();
    expect(Number(count)).toBe(5000);
    const drafts = await db
      .selectFrom('steadfast_drafts')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('user_id', '=', String(session.user.id))
      .where('key', 'like', 'large-%')
      .executeTakeFirstOrThrow();
    expect(Number(drafts.count)).toBe(5000);
  });

  it('applies each request alone when the shared statements fail, so only the faulty one fails', async () => {
    const removeFault = await installDraftFault(current());
    try {
      const separately = await commitsBy('separately');
      const keys = Array.from({ length: 6 }, (_, i) => `fault-${i}-${newClientId()}`);
      const bodies = keys.map((key, i) => ({
        clientId: newClientId(),
        changes: [change(1, { key, data: { name: i === 3 ? 'poison' : `fine ${i}` } })],
      }));
      const outcomes = await syncInOneGroup(bodies.map((body) => ({ body })));
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
      ]);
      expect(String((outcomes[3] as PromiseRejectedResult).reason)).toMatch(/injected/);
      expect(await commitsBy('separately')).toBe(separately + 1);
      // Over HTTP the fault is the server's own: a 5xx, not a 4xx blaming the request.
      const answered = await sync({
        clientId: newClientId(),
        changes: [change(1, { key: keys[3], data: { name: 'poison' } })],
      });
      expect(answered.status).toBeGreaterThanOrEqual(500);
      const { db } = current().opened;
      const stored = await db.selectFrom('steadfast_drafts').select('key').where('key', 'in', keys).execute();
      expect(stored.map((r) => r.key).sort()).toEqual(keys.filter((_, i) => i !== 3).sort());
      const logged = await db
        .selectFrom('steadfast_activity_log')
        .select('object_id')
        .where('model', '=', DRAFT_MODEL)
        .where(
          'object_id',
          'in',
          keys.map((key) => `${session.user.id}:form:${key}`),
        )
        .execute();
      expect(logged).toHaveLength(5);
      const poisoned = await db
        .selectFrom('steadfast_sync_clients')
        .select('client_id')
        .where('client_id', '=', bodies[3]?.clientId as string)
        .execute();
      expect(poisoned).toEqual([]);
    } finally {
      await removeFault();
    }
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

/** A trigger failing the write of any draft whose data names `poison`, on either engine. */
async function installDraftFault(database: TestDatabase): Promise<() => Promise<void>> {
  const { db } = database.opened;
  if (database.engine === 'sqlite') {
    await sql`create trigger draft_poison before insert on steadfast_drafts when new.data like '%poison%'
      begin select raise(abort, 'injected: this draft cannot be written'); end`.execute(db);
    return async () => void (await sql`drop trigger draft_poison`.execute(db));
  }
  await sql`create or replace function draft_poison() returns trigger language plpgsql as $$
    begin if new.data like '%poison%' then raise exception 'injected: this draft cannot be written'; end if;
    return new; end $$`.execute(db);
  await sql`create trigger draft_poison before insert on steadfast_drafts for each row execute function draft_poison()`.execute(
    db,
  );
  return async () => void (await sql`drop trigger draft_poison on steadfast_drafts`.execute(db));
}

describeEachDatabase('closing the app', (current) => {
  it('waits for saves made outside a request to commit before it returns', async () => {
    const persistence = createAppPersistence({ db: current().opened.db });
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
