/**
 * The `authorize` hook of createPersistence: asked by every tracked write path (a save alone, in a
 * transaction, in a bulk save, in a batch of concurrent saves, in a group commit; a delete; a
 * revert) and by the log's reads, with the actor of the context. A refusal is a ForbiddenError
 * thrown before anything is written: every table is left as it was (full dumps compared), but for
 * the refusal's own log entry when it is one worth recording, written once, outside every chain.
 */
import { sql } from 'kysely';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import {
  type AuthorizeDecision,
  type AuthorizeRequest,
  ForbiddenError,
  ModelRegistry,
  NotFoundError,
  type Persistence,
  pruneActivityLog,
  verifyActivityLog,
} from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase, type TestDatabase } from '../../support/databases.js';
import { createProduct, productValues } from '../../support/persistence-fixtures.js';
import { dumpTables, expectOnlyRefusalsAdded } from '../../support/table-dump.js';

type Rule = (request: AuthorizeRequest) => AuthorizeDecision;
const allowAll: Rule = () => true;

/** A trigger that fails the write of a product renamed `poison` (a database error inside a batch). */
async function installPoison(database: TestDatabase): Promise<() => Promise<void>> {
  const { db } = database.opened;
  if (database.engine === 'sqlite') {
    await sql`create trigger authz_poison before update on products when new.name = 'poison'
      begin select raise(abort, 'injected: this row cannot be written'); end`.execute(db);
    return async () => void (await sql`drop trigger authz_poison`.execute(db));
  }
  await sql`create or replace function authz_poison() returns trigger language plpgsql as $$
    begin if new.name = 'poison' then raise exception 'injected: this row cannot be written'; end if;
    return new; end $$`.execute(db);
  await sql`create trigger authz_poison before update on products for each row execute function authz_poison()`.execute(
    db,
  );
  return async () => void (await sql`drop trigger authz_poison on products`.execute(db));
}

describeEachDatabase('authorize hook', (current) => {
  let persistence: Persistence;
  let rule: Rule = allowAll;
  let asked: AuthorizeRequest[] = [];
  let batches: Array<{ size: number; outcome: string }> = [];
  const authorize = async (request: AuthorizeRequest) => {
    asked.push(request);
    return rule(request);
  };
  const db = () => current().opened.db;
  const dump = () => dumpTables(db());
  const refusalsOf = async (objectId: string) =>
    db()
      .selectFrom('steadfast_activity_log')
      .selectAll()
      .where('model', '=', 'Refusal')
      .where('object_id', '=', objectId)
      .execute();

  beforeAll(() => {
    persistence = createAppPersistence({
      db: db(),
      authorize,
      onSaveBatch: (size, outcome) => batches.push({ size, outcome }),
    });
  });
  beforeEach(() => {
    rule = allowAll;
    asked = [];
    batches = [];
  });

  /** Products made with everything allowed, then the record of what was asked cleared. */
  const products = async (count: number) => {
    const made = [];
    for (let i = 0; i < count; i += 1) made.push(await createProduct(persistence));
    asked = [];
    batches = [];
    return made;
  };

  describe('saves', () => {
    it('a create is asked as `create` with the actor, the model and the values, and then saved', async () => {
      const values = productValues({ name: 'Allowed desk' });
      const actor = { actor: '7', requestId: 'req-create', ip: '10.0.0.7' };
      const result = await persistence.runAs(actor, () => persistence.autoSave('Product', values));
      expect(result.created).toBe(true);
      expect(asked).toEqual([
        { actor, action: 'create', model: 'Product', objectId: undefined, record: undefined, values },
      ]);
    });

    it('a refused update throws ForbiddenError with the reason; nothing changes but the refusal logged once', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = (request) => (request.action === 'update' ? { refuse: 'The catalogue is read-only.' } : true);
      const before = await dump();
      const actor = { actor: '7', requestId: 'req-refused', ip: '10.0.0.7' };
      const error = await persistence
        .runAs(actor, () => persistence.autoSave('Product', { id: product.id, version: 1, price: '1.00' }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ForbiddenError);
      expect(error).toMatchObject({
        code: 'forbidden',
        action: 'update',
        model: 'Product',
        objectId: String(product.id),
        message: 'The catalogue is read-only.',
      });
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatchObject({
        actor,
        action: 'update',
        objectId: String(product.id),
        values: { price: '1.00' },
        record: { id: product.id, version: 1, price: '500.00' },
      });
      const [refusal, ...more] = expectOnlyRefusalsAdded(before, await dump());
      expect(more).toEqual([]);
      expect(refusal).toMatchObject({
        action: 'refused',
        model: 'Refusal',
        object_id: `Product:${product.id}`,
        actor: '7',
        request_id: 'req-refused',
        ip: '10.0.0.7',
        prev_hash: null,
      });
      expect(Number(refusal?.version)).toBe(1);
      expect(JSON.parse(String(refusal?.snapshot))).toEqual({
        action: 'update',
        model: 'Product',
        objectId: String(product.id),
        reason: 'The catalogue is read-only.',
        fields: ['price'],
      });
      // The refusal is in the log's own queries too (model Refusal, action refused).
      const page = await persistence.activityLog.query({
        action: 'refused',
        objectId: `Product:${product.id}`,
      });
      expect(page.entries.map((entry) => entry.actor)).toEqual(['7']);
    });

    it('a refusal that says not to record it changes nothing at all', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = () => ({ refuse: 'no', record: false });
      const before = await dump();
      await expect(persistence.autoSave('Product', { id: product.id, quantity: 9 })).rejects.toBeInstanceOf(
        ForbiddenError,
      );
      expect(await dump()).toEqual(before);
    });

    it('any answer but true refuses, with a sentence naming the action', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      for (const answer of [false, undefined, 'yes', 1, {}]) {
        rule = () => answer as AuthorizeDecision;
        const error = await persistence
          .autoSave('Product', { id: product.id, quantity: 9 })
          .catch((e: unknown) => e);
        expect(error, String(answer)).toBeInstanceOf(ForbiddenError);
        expect((error as Error).message).toBe(`You may not change Product ${product.id}.`);
      }
    });

    it("the hook's own failure fails the save, and nothing is written", async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = () => {
        throw new Error('roles unavailable');
      };
      const before = await dump();
      await expect(persistence.autoSave('Product', { id: product.id, quantity: 9 })).rejects.toThrow(
        'roles unavailable',
      );
      expect(await dump()).toEqual(before);
    });

    it('is asked before the version is checked: a refused stale save is a ForbiddenError, not a conflict', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = () => false;
      await expect(
        persistence.autoSave('Product', { id: product.id, version: 99, quantity: 9 }),
      ).rejects.toBeInstanceOf(ForbiddenError);
    });

    it('autoSaveBulk asks for each record; one refused, none is written', async () => {
      rule = (request) => request.values?.name !== 'Refused in bulk';
      const before = await dump();
      await expect(
        persistence.autoSaveBulk('Product', [
          productValues(),
          productValues({ name: 'Refused in bulk' }),
          productValues(),
        ]),
      ).rejects.toBeInstanceOf(ForbiddenError);
      expect(asked.map((request) => request.action)).toEqual(['create', 'create']);
      expect(expectOnlyRefusalsAdded(before, await dump())).toHaveLength(1);
    });

    it('in a transaction, the refusal rolls back the work, and its record stays', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = (request) => request.action !== 'update';
      const before = await dump();
      await expect(
        persistence.withTransaction(async () => {
          await persistence.autoSave('Product', productValues({ name: 'Made before the refusal' }));
          await persistence.autoSave('Product', { id: product.id, quantity: 9 });
        }),
      ).rejects.toBeInstanceOf(ForbiddenError);
      expect(expectOnlyRefusalsAdded(before, await dump())).toHaveLength(1);
    });

    it('a refusal caught inside a transaction leaves the rest to commit, and is recorded once', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = (request) => request.action !== 'update';
      const created = await persistence.withTransaction(async () => {
        const made = await persistence.autoSave('Product', productValues({ name: 'Kept' }));
        await expect(persistence.autoSave('Product', { id: product.id, quantity: 9 })).rejects.toBeInstanceOf(
          ForbiddenError,
        );
        return made;
      });
      const row = await db()
        .selectFrom('products')
        .selectAll()
        .where('id', '=', Number(created.record.id))
        .execute();
      expect(row).toHaveLength(1);
      expect(await refusalsOf(`Product:${product.id}`)).toHaveLength(1);
    });
  });

  describe('batched saves', () => {
    it('each save of a batch is asked as its own actor; a refused one fails alone and the rest commit', async () => {
      const made = await products(5);
      const refused = made[2];
      if (!refused) throw new Error('no product');
      rule = (request) =>
        request.objectId === String(refused.id) || request.values?.name === 'Refused create'
          ? { refuse: 'Locked.' }
          : true;
      const before = await dump();
      const createRefusals = (await refusalsOf('Product')).length;
      const outcomes = await Promise.allSettled([
        ...made.map((product, i) =>
          persistence.runAs({ actor: `user-${i}` }, () =>
            persistence.autoSave('Product', { id: product.id, quantity: 50 + i }),
          ),
        ),
        persistence.runAs({ actor: 'user-new' }, () =>
          persistence.autoSave('Product', productValues({ name: 'Refused create' })),
        ),
      ]);
      expect(batches).toContainEqual({ size: 6, outcome: 'committed' });
      outcomes.forEach((outcome, i) => {
        const isRefused = i === 2 || i === 5;
        expect(outcome.status, `save ${i}`).toBe(isRefused ? 'rejected' : 'fulfilled');
        if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ForbiddenError);
      });
      // Each asked once, as the actor who saved it (the refused create too: not asked again alone).
      expect(asked.map((request) => request.actor.actor).sort()).toEqual(
        ['user-0', 'user-1', 'user-2', 'user-3', 'user-4', 'user-new'].sort(),
      );
      const after = await dump();
      const rows = new Map(after.products?.map((row) => [Number(row.id), row]));
      made.forEach((product, i) => {
        expect(rows.get(product.id), `product ${i}`).toMatchObject(
          i === 2 ? { version: 1, quantity: 3 } : { version: 2, quantity: 50 + i },
        );
      });
      expect([...rows.values()].some((row) => row.name === 'Refused create')).toBe(false);
      expect(await refusalsOf(`Product:${refused.id}`)).toHaveLength(1);
      expect(await refusalsOf('Product')).toHaveLength(createRefusals + 1);
      expect(before.products).toHaveLength(after.products?.length ?? 0);
      expect((await verifyActivityLog(db(), persistence.registry)).ok).toBe(true);
    });

    it('a batch abandoned for another save’s fault logs its refusal once, when the save meets it again alone', async () => {
      const made = await products(5);
      const [refused, poisoned, ...rest] = made as [(typeof made)[0], (typeof made)[0], ...typeof made];
      rule = (request) => request.objectId !== String(refused.id);
      const remove = await installPoison(current());
      let outcomes: PromiseSettledResult<unknown>[];
      try {
        outcomes = await Promise.allSettled([
          persistence.autoSave('Product', { id: refused.id, quantity: 1 }),
          persistence.autoSave('Product', { id: poisoned.id, name: 'poison' }),
          ...rest.map((product) => persistence.autoSave('Product', { id: product.id, quantity: 77 })),
        ]);
      } finally {
        await remove();
      }
      expect(batches).toContainEqual({ size: 5, outcome: 'abandoned' });
      expect(outcomes[0]?.status === 'rejected' && outcomes[0].reason).toBeInstanceOf(ForbiddenError);
      expect(outcomes[1]?.status).toBe('rejected');
      expect(outcomes.slice(2).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
      expect(await refusalsOf(`Product:${refused.id}`)).toHaveLength(1);
    });

    it('saves sharing a group commit are asked each; a refused one fails alone', async () => {
      const grouped = createAppPersistence({ db: db(), authorize, groupCommit: true, batchSaves: false });
      const made = await products(4);
      const refused = made[1];
      if (!refused) throw new Error('no product');
      rule = (request) => request.objectId !== String(refused.id);
      const outcomes = await Promise.allSettled(
        made.map((product) => grouped.autoSave('Product', { id: product.id, quantity: 11 })),
      );
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
      ]);
      expect(asked).toHaveLength(4);
      const row = await db()
        .selectFrom('products')
        .selectAll()
        .where('id', '=', refused.id)
        .executeTakeFirst();
      expect(row).toMatchObject({ version: 1, quantity: 3 });
      expect(await refusalsOf(`Product:${refused.id}`)).toHaveLength(1);
      await grouped.idle();
    });
  });

  describe('deletes and reverts', () => {
    it('a delete is asked with the record; refused, the record stays', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = (request) => request.action !== 'delete';
      const before = await dump();
      await expect(
        persistence.runAs('5', () => persistence.autoDelete('Product', product.id)),
      ).rejects.toBeInstanceOf(ForbiddenError);
      expect(asked).toEqual([
        {
          actor: { actor: '5' },
          action: 'delete',
          model: 'Product',
          objectId: String(product.id),
          record: expect.objectContaining({ id: product.id, version: 1 }),
          values: undefined,
        },
      ]);
      expect(expectOnlyRefusalsAdded(before, await dump())).toHaveLength(1);
      rule = allowAll;
      await persistence.autoDelete('Product', product.id);
    });

    it('a revert is asked as `revert` with the record and the state it restores; refused, nothing changes', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      await persistence.autoSave('Product', { id: product.id, name: 'Renamed' });
      asked = [];
      rule = (request) => request.action !== 'revert';
      const before = await dump();
      await expect(persistence.revert('Product', product.id, 1)).rejects.toBeInstanceOf(ForbiddenError);
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatchObject({
        action: 'revert',
        objectId: String(product.id),
        record: { version: 2, name: 'Renamed' },
        values: { name: product.name, price: '500.00' },
      });
      // A save that says it is a revert is asked as one too.
      await expect(
        persistence.autoSave('Product', { id: product.id, name: product.name }, { action: 'revert' }),
      ).rejects.toBeInstanceOf(ForbiddenError);
      expect(expectOnlyRefusalsAdded(before, await dump())).toHaveLength(2);
    });

    it('reverting a deleted record is asked with no record', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      await persistence.autoDelete('Product', product.id);
      asked = [];
      rule = (request) => request.action !== 'revert';
      await expect(persistence.revert('Product', product.id, 1)).rejects.toBeInstanceOf(ForbiddenError);
      expect(asked[0]).toMatchObject({ action: 'revert', objectId: String(product.id), record: undefined });
      expect(await db().selectFrom('products').select('id').where('id', '=', product.id).execute()).toEqual(
        [],
      );
    });

    it('a missing record is not found, without asking', async () => {
      rule = () => false;
      await expect(persistence.autoSave('Product', { id: 999_999, quantity: 1 })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(persistence.autoDelete('Product', 999_999)).rejects.toBeInstanceOf(NotFoundError);
      expect(asked).toEqual([]);
    });
  });

  describe('reads of the log', () => {
    it('a log query is asked as `read-log` with its filters; refused, it is not logged unless the refusal says so', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = (request) => request.action !== 'read-log';
      const before = await dump();
      const error = await persistence
        .runAs('9', () => persistence.activityLog.query({ model: 'Product', objectId: String(product.id) }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ForbiddenError);
      expect(asked).toEqual([
        {
          actor: { actor: '9' },
          action: 'read-log',
          model: 'Product',
          objectId: String(product.id),
          record: undefined,
          values: undefined,
        },
      ]);
      await expect(persistence.activityLog.query({})).rejects.toThrow('You may not read the whole log.');
      expect(asked[1]).toMatchObject({ action: 'read-log', model: undefined, objectId: undefined });
      expect(await dump()).toEqual(before);

      rule = (request) => (request.action === 'read-log' ? { refuse: 'Not yours.', record: true } : true);
      await expect(
        persistence.runAs('9', () => persistence.activityLog.query({ model: 'Setting' })),
      ).rejects.toThrow('Not yours.');
      expect(await refusalsOf('Setting')).toHaveLength(1);
    });

    it('one entry is asked about with its model and object', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = allowAll;
      const { entries } = await persistence.activityLog.query({
        model: 'Product',
        objectId: String(product.id),
      });
      const id = entries[0]?.id ?? 0;
      asked = [];
      rule = (request) => request.model !== 'Product';
      await expect(persistence.activityLog.entry(id)).rejects.toBeInstanceOf(ForbiddenError);
      expect(asked).toEqual([
        expect.objectContaining({ action: 'read-log', model: 'Product', objectId: String(product.id) }),
      ]);
      // No entry, nothing to ask about.
      expect(await persistence.activityLog.entry(987_654_321)).toBeUndefined();
      expect(asked).toHaveLength(1);
    });

    it("a record's past (readWithBase, mergeStale) is asked as `read-log` with the record", async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      await persistence.autoSave('Product', { id: product.id, quantity: 4 });
      asked = [];
      rule = (request) => request.action !== 'read-log';
      await expect(persistence.readWithBase('Product', product.id, 1)).rejects.toBeInstanceOf(ForbiddenError);
      await expect(persistence.mergeStale('Product', product.id, { quantity: 5 }, 1)).rejects.toBeInstanceOf(
        ForbiddenError,
      );
      expect(asked).toEqual([
        expect.objectContaining({
          action: 'read-log',
          objectId: String(product.id),
          record: expect.objectContaining({ version: 2 }),
        }),
        expect.objectContaining({ action: 'read-log', objectId: String(product.id) }),
      ]);
      rule = allowAll;
      expect((await persistence.readWithBase('Product', product.id, 1)).baseStatus).toBe('found');
    });
  });

  describe('without a hook', () => {
    it('asks nothing and allows everything', async () => {
      const open = createAppPersistence({ db: db() });
      expect(open.authorizer.enabled).toBe(false);
      const product = await open.autoSave('Product', productValues());
      await open.revert('Product', Number(product.record.id), 1);
      await open.autoDelete('Product', Number(product.record.id));
      expect(asked).toEqual([]);
    });

    it('keeps the model name Refusal for the log', () => {
      expect(
        () =>
          new ModelRegistry([
            { name: 'Refusal', table: 't', primaryKey: 'id', generatedKey: true, trackedFields: ['a'] },
          ]),
      ).toThrow(/kept by Steadfast/);
    });
  });

  describe('the log with refusals in it', () => {
    it('verifies, through the function and the command, and pruning removes the old refusals', async () => {
      const [product] = await products(1);
      if (!product) throw new Error('no product');
      rule = () => false;
      for (let i = 0; i < 3; i += 1) {
        await persistence.autoSave('Product', { id: product.id, quantity: i }).catch(() => {});
      }
      rule = allowAll;
      await persistence.autoSave('Product', { id: product.id, quantity: 42 });
      expect(await refusalsOf(`Product:${product.id}`)).toHaveLength(3);
      const report = await verifyActivityLog(db(), persistence.registry);
      expect(report.problems).toEqual([]);

      const { execFile } = await import('node:child_process');
      const { promisify } = await import('node:util');
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'packages/steadfast/src/cli/main.ts', 'activity', 'verify'],
        { env: { ...process.env, DATABASE_URL: current().url } },
      );
      expect(stdout).toMatch(/ok: \d+ entries in \d+ chains verified/);

      // A refusal altered shows, like any entry.
      const [first] = await refusalsOf(`Product:${product.id}`);
      await db()
        .updateTable('steadfast_activity_log')
        .set({ actor: 'mallory' })
        .where('id', '=', Number(first?.id))
        .execute();
      const altered = await verifyActivityLog(db(), persistence.registry);
      expect(altered.problems.map((problem) => problem.entryId)).toEqual([Number(first?.id)]);

      await pruneActivityLog(db(), new Date(Date.now() + 60_000));
      expect(
        await db()
          .selectFrom('steadfast_activity_log')
          .select('id')
          .where('action', '=', 'refused')
          .execute(),
      ).toEqual([]);
      expect((await verifyActivityLog(db(), persistence.registry)).problems).toEqual([]);
    });
  });
});
