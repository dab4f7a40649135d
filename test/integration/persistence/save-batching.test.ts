/**
 * Batched saves: concurrent autoSave calls made outside a transaction share one transaction, one
 * read, one verification read and one log insert, yet each succeeds or fails alone. Real faults
 * (triggers) on both engines; each test checks the batch it meant to form did form.
 */
import { sql } from 'kysely';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { openDatabase } from '../../../packages/steadfast/src/db/index.js';
import {
  ConflictError,
  type Persistence,
  ValidationError,
  VerificationError,
  verifyActivityLog,
} from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase, type TestDatabase } from '../../support/databases.js';
import { createProduct, productValues } from '../../support/persistence-fixtures.js';

type BatchOutcome = 'committed' | 'abandoned' | 'failed';

/** A trigger failing (`poison`) or altering (`tamper`) the write of one product, by its new name. */
async function installRowFault(
  database: TestDatabase,
  kind: 'poison' | 'tamper',
): Promise<() => Promise<void>> {
  const { db } = database.opened;
  if (database.engine === 'sqlite') {
    if (kind === 'poison') {
      await sql`create trigger batch_poison before update on products when new.name = 'poison'
        begin select raise(abort, 'injected: this row cannot be written'); end`.execute(db);
      return async () => void (await sql`drop trigger batch_poison`.execute(db));
    }
    await sql`create trigger batch_tamper after update on products when new.name = 'tamper me'
      begin update products set name = 'tampered' where id = new.id; end`.execute(db);
    return async () => void (await sql`drop trigger batch_tamper`.execute(db));
  }
  const body =
    kind === 'poison'
      ? sql.raw(
          `begin if new.name = 'poison' then raise exception 'injected: this row cannot be written'; end if; return new; end`,
        )
      : sql.raw(`begin if new.name = 'tamper me' then new.name := 'tampered'; end if; return new; end`);
  await sql`create or replace function batch_fault() returns trigger language plpgsql as $$ ${body} $$`.execute(
    db,
  );
  await sql`create trigger batch_fault before update on products for each row execute function batch_fault()`.execute(
    db,
  );
  return async () => void (await sql`drop trigger batch_fault on products`.execute(db));
}

describeEachDatabase('batched saves', (current) => {
  let persistence: Persistence;
  let batches: Array<{ size: number; outcome: BatchOutcome }>;
  let logged: string[];
  beforeAll(() => {
    persistence = createAppPersistence({
      db: current().opened.db,
      onSaveBatch: (size, outcome) => batches.push({ size, outcome }),
      logger: { info: (line) => logged.push(line) },
    });
  });
  beforeEach(() => {
    batches = [];
    logged = [];
  });

  const products = async (count: number) => {
    const made = [];
    for (let i = 0; i < count; i += 1) made.push(await createProduct(persistence));
    batches = [];
    logged = [];
    return made;
  };
  const rowOf = (id: number) =>
    current().opened.db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const entriesOf = async (id: number) =>
    (await persistence.activityLog.query({ model: 'Product', objectId: String(id) })).entries;

  it('concurrent saves of distinct records share one batch: each verified, logged once, by its own actor', async () => {
    const made = await products(8);
    const results = await Promise.all(
      made.map((product, i) =>
        persistence.runAs({ actor: `user-${i}`, requestId: `req-${i}`, ip: '10.0.0.1' }, () =>
          persistence.autoSave('Product', { id: product.id, quantity: 100 + i }),
        ),
      ),
    );
    expect(batches.some((b) => b.outcome === 'committed' && b.size > 1)).toBe(true);
    expect(logged).toEqual(made.map(() => '[PERSISTENCE] Successfully saved Product'));
    for (const [i, product] of made.entries()) {
      const result = results[i];
      expect(result?.changed).toBe(true);
      expect(result?.version).toBe(2);
      expect(result?.record.quantity).toBe(100 + i);
      expect(result?.entry).toMatchObject({ actor: `user-${i}`, requestId: `req-${i}`, version: 2 });
      expect(result?.entry?.changes).toEqual({ quantity: [3, 100 + i] });
      const row = await rowOf(product.id);
      expect(row).toMatchObject({ quantity: 100 + i, version: 2 });
      const updates = (await entriesOf(product.id)).filter((e) => e.action === 'update');
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({ actor: `user-${i}`, ip: '10.0.0.1' });
    }
    expect((await verifyActivityLog(current().opened.db, persistence.registry)).ok).toBe(true);
  });

  it('a save refused before writing (stale version, invalid value) fails alone; the rest of its batch commits', async () => {
    const made = await products(6);
    const [stale, invalid, ...rest] = made as [(typeof made)[0], (typeof made)[0], ...typeof made];
    const outcomes = await Promise.allSettled([
      persistence.autoSave('Product', { id: stale.id, version: 7, quantity: 1 }),
      persistence.autoSave('Product', { id: invalid.id, price: 'ten' }),
      ...rest.map((product) => persistence.autoSave('Product', { id: product.id, quantity: 42 })),
    ]);
    expect(batches).toContainEqual({ size: 6, outcome: 'committed' });
    const [staleOutcome, invalidOutcome, ...restOutcomes] = outcomes;
    expect(staleOutcome?.status === 'rejected' && staleOutcome.reason).toBeInstanceOf(ConflictError);
    expect(invalidOutcome?.status === 'rejected' && invalidOutcome.reason).toBeInstanceOf(ValidationError);
    expect(restOutcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    for (const product of [stale, invalid]) {
      expect(await rowOf(product.id)).toMatchObject({ version: 1, quantity: 3, price: '500.00' });
      expect(await entriesOf(product.id)).toHaveLength(1);
    }
    for (const product of rest) expect(await rowOf(product.id)).toMatchObject({ version: 2, quantity: 42 });
  });

  it('a database error in one save abandons the batch; the others are then written alone and only it fails', async () => {
    const made = await products(6);
    const [poisoned, ...rest] = made as [(typeof made)[0], ...typeof made];
    const remove = await installRowFault(current(), 'poison');
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      outcomes = await Promise.allSettled([
        ...rest.map((product) => persistence.autoSave('Product', { id: product.id, quantity: 7 })),
        persistence.autoSave('Product', { id: poisoned.id, name: 'poison' }),
      ]);
    } finally {
      await remove();
    }
    expect(batches).toContainEqual({ size: 6, outcome: 'abandoned' });
    const failed = outcomes.at(-1);
    expect(failed?.status === 'rejected' && String(failed.reason)).toMatch(
      /injected: this row cannot be written/,
    );
    expect(outcomes.slice(0, -1).every((o) => o.status === 'fulfilled')).toBe(true);
    expect(await rowOf(poisoned.id)).toMatchObject({ version: 1, name: poisoned.name });
    expect(await entriesOf(poisoned.id)).toHaveLength(1);
    for (const product of rest) {
      expect(await rowOf(product.id)).toMatchObject({ version: 2, quantity: 7 });
      expect(await entriesOf(product.id)).toHaveLength(2);
    }
    expect((await verifyActivityLog(current().opened.db, persistence.registry)).ok).toBe(true);
  });

  it('a row that reads back different from what was written fails verification for its save alone', async () => {
    const made = await products(5);
    const [tampered, ...rest] = made as [(typeof made)[0], ...typeof made];
    const remove = await installRowFault(current(), 'tamper');
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      outcomes = await Promise.allSettled([
        persistence.autoSave('Product', { id: tampered.id, name: 'tamper me' }),
        ...rest.map((product) => persistence.autoSave('Product', { id: product.id, quantity: 9 })),
      ]);
    } finally {
      await remove();
    }
    expect(batches).toContainEqual({ size: 5, outcome: 'abandoned' });
    const [failed, ...others] = outcomes;
    expect(failed?.status === 'rejected' && failed.reason).toBeInstanceOf(VerificationError);
    expect(others.every((o) => o.status === 'fulfilled')).toBe(true);
    expect(await rowOf(tampered.id)).toMatchObject({ version: 1, name: tampered.name });
    expect(await entriesOf(tampered.id)).toHaveLength(1);
    for (const product of rest) expect(await rowOf(product.id)).toMatchObject({ version: 2, quantity: 9 });
  });

  it('saves of one record never share a batch: all apply, in order, each logged and chained', async () => {
    const [product] = await products(1);
    if (!product) throw new Error('no product');
    const results = await Promise.all(
      [11, 12, 13].map((quantity) => persistence.autoSave('Product', { id: product.id, quantity })),
    );
    expect(results.map((r) => r.version)).toEqual([2, 3, 4]);
    expect(await rowOf(product.id)).toMatchObject({ version: 4, quantity: 13 });
    const updates = (await entriesOf(product.id)).filter((e) => e.action === 'update');
    expect(updates.map((e) => e.changes.quantity)).toEqual([
      [12, 13],
      [11, 12],
      [3, 11],
    ]);
    expect((await verifyActivityLog(current().opened.db, persistence.registry)).ok).toBe(true);
  });

  it('creates, unchanged values and updates of several models batch together', async () => {
    const made = await products(3);
    const settingId = `batch-${Date.now()}`;
    await persistence.autoSave('Setting', { id: settingId, value: 'one' });
    batches = [];
    const [created, unchanged, updated, setting, ...rest] = await Promise.all([
      persistence.autoSave('Product', productValues({ name: 'New' })),
      persistence.autoSave('Product', { id: made[0]?.id, quantity: 3 }),
      persistence.autoSave('Product', { id: made[1]?.id, quantity: 4 }),
      persistence.autoSave('Setting', { id: settingId, value: 'two' }),
      persistence.autoSave('Product', { id: made[2]?.id, name: 'Renamed' }),
    ]);
    expect(batches.some((b) => b.outcome === 'committed' && b.size > 1)).toBe(true);
    expect(created).toMatchObject({ created: true, version: 1 });
    expect(created?.entry?.action).toBe('create');
    expect(unchanged).toMatchObject({ changed: false, version: 1, entry: null });
    expect(updated?.entry?.changes).toEqual({ quantity: [3, 4] });
    expect(setting?.entry?.changes).toEqual({ value: ['one', 'two'] });
    expect(rest[0]?.record.name).toBe('Renamed');
    expect(await entriesOf(made[0]?.id as number)).toHaveLength(1);
    expect((await verifyActivityLog(current().opened.db, persistence.registry)).ok).toBe(true);
  });

  it('idle() resolves only once every save in flight has committed (a graceful shutdown waits for them)', async () => {
    const made = await products(5);
    const saves = made.map((p) => persistence.autoSave('Product', { id: p.id, quantity: 77 }));
    await persistence.idle();
    const rows = await current()
      .opened.db.selectFrom('products')
      .select('quantity')
      .where(
        'id',
        'in',
        made.map((p) => p.id),
      )
      .execute();
    expect(rows.map((r) => r.quantity)).toEqual([77, 77, 77, 77, 77]);
    await Promise.all(saves);
  });

  it('two processes batching saves of the same records lose no update and log every applied one', async () => {
    // A second connection pool (PostgreSQL) or connection (SQLite) to the same database: another
    // process. Its batches and ours read, write and commit the same records in between each other.
    const other = await openDatabase(current().url);
    try {
      const elsewhere = createAppPersistence({ db: other.db });
      const made = await products(4);
      const saves = [persistence, elsewhere].flatMap((side, s) =>
        Array.from({ length: 24 }, (_, i) =>
          side.autoSave('Product', { id: made[i % made.length]?.id, quantity: 1000 * s + i }),
        ),
      );
      const outcomes = await Promise.allSettled(saves);
      for (const outcome of outcomes) {
        // Saves without a version may meet another process's write between their read and their
        // write (the one-save path then says so); nothing else may fail.
        if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ConflictError);
      }
      expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBeGreaterThan(0);
      for (const product of made) {
        const applied = outcomes.filter(
          (o, n) =>
            o.status === 'fulfilled' &&
            (o.value as { changed: boolean }).changed &&
            (n % 24) % made.length === made.indexOf(product),
        ).length;
        const row = await rowOf(product.id);
        const entries = await entriesOf(product.id);
        expect(row.version).toBe(1 + applied);
        expect(entries).toHaveLength(1 + applied);
        expect(entries[0]?.version).toBe(row.version);
        expect(entries[0]?.snapshot.quantity).toBe(row.quantity);
      }
      expect((await verifyActivityLog(current().opened.db, persistence.registry)).ok).toBe(true);
    } finally {
      await other.close();
    }
  });

  describe('without batching', () => {
    it('batchSaves: false writes each save in a transaction of its own', async () => {
      const unbatched = createAppPersistence({
        db: current().opened.db,
        batchSaves: false,
        onSaveBatch: (size, outcome) => batches.push({ size, outcome }),
      });
      const made = await products(4);
      await Promise.all(made.map((p) => unbatched.autoSave('Product', { id: p.id, quantity: 5 })));
      expect(batches).toEqual([]);
      for (const product of made) expect(await rowOf(product.id)).toMatchObject({ version: 2, quantity: 5 });
    });
  });
});
