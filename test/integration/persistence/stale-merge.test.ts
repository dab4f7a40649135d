/**
 * `persistence.mergeStale` and `persistence.readWithBase`: a submit made at an old version merged
 * field by field against the record as it was then (rebuilt from the log) and as it is now, so an
 * app's conflict handler can save both users' changes instead of asking for a redo.
 */
import { beforeAll, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import {
  type Clock,
  ConflictError,
  NotFoundError,
  type Persistence,
  pruneActivityLog,
  UnknownModelError,
  ValidationError,
} from '../../../packages/steadfast/src/persistence/index.js';
import { resolveConflicts } from '../../../packages/steadfast/src/protocol/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { createProduct } from '../../support/persistence-fixtures.js';

const ALICE = '101';
const BOB = '202';

describeEachDatabase('persistence.mergeStale', (current) => {
  let persistence: Persistence;
  beforeAll(() => {
    persistence = createAppPersistence({ db: current().opened.db });
  });

  const as = <T>(actor: string, fn: () => Promise<T>) => persistence.runAs(actor, fn);
  /** The whole form Alice loaded at version 1, as she submits it with her edits. */
  const formOf = (record: Record<string, unknown>, edits: Record<string, unknown>) => ({
    id: record.id,
    version: 1,
    sku: record.sku,
    name: record.name,
    description: record.description,
    price: record.price,
    quantity: record.quantity,
    category: record.category,
    active: record.active,
    ...edits,
  });

  it('merges a stale submit with no conflict: her price, his name, the fields she never touched left as he saved them', async () => {
    const product = await as(ALICE, () => createProduct(persistence, { name: 'Desk', price: '500.00' }));
    const his = await as(BOB, () =>
      persistence.autoSave('Product', { id: product.id, name: 'Oak desk', quantity: 9 }),
    );
    const submitted = formOf(product, { price: '450' });
    const stale = await as(ALICE, () => persistence.autoSave('Product', submitted)).catch((error) => error);
    expect(stale).toBeInstanceOf(ConflictError);

    const merge = await persistence.mergeStale('Product', product.id, submitted, 1);
    expect(merge).toMatchObject({
      model: 'Product',
      objectId: String(product.id),
      baseVersion: 1,
      baseStatus: 'found',
      currentVersion: 2,
      conflicts: [],
      changedBy: { actor: BOB, at: his.entry?.time, version: 2 },
    });
    // 450 goes through the model's schema as a save would: 450.00, a change of hers.
    expect(merge.fromDraft).toEqual(['price']);
    expect(merge.fromServer.toSorted()).toEqual(['name', 'quantity']);
    expect(merge.merged).toMatchObject({ name: 'Oak desk', quantity: 9, price: '450.00' });
    expect(merge.base).toMatchObject({ name: 'Desk', quantity: 3, price: '500.00' });
    expect(merge.current).toMatchObject({ name: 'Oak desk', quantity: 9, price: '500.00' });
    expect(merge.current).not.toHaveProperty('version');
    expect(merge.current).not.toHaveProperty('id');
    expect(merge.fieldAuthors).toEqual({
      name: { actor: BOB, at: his.entry?.time, version: 2 },
      quantity: { actor: BOB, at: his.entry?.time, version: 2 },
    });

    const saved = await as(ALICE, () =>
      persistence.autoSave('Product', { ...merge.merged, id: product.id, version: merge.currentVersion }),
    );
    expect(saved.record).toMatchObject({ name: 'Oak desk', quantity: 9, price: '450.00', version: 3 });
    // Her save logs only her change: nothing of his was written over.
    expect(saved.entry?.changes).toEqual({ price: ['500.00', '450.00'] });
  });

  it('reports a field both changed differently as a conflict with its three values; each choice saves its value', async () => {
    for (const [choice, expected] of [
      ['yours', 'Hers'],
      ['theirs', 'His'],
      ['original', 'Oak, 160 cm'],
    ] as const) {
      const product = await as(ALICE, () => createProduct(persistence));
      await as(BOB, () =>
        persistence.autoSave('Product', { id: product.id, description: 'His', category: 'Office' }),
      );
      const submitted = formOf(product, { description: 'Hers', price: '1.50' });
      const merge = await persistence.mergeStale('Product', product.id, submitted, 1);
      expect(merge.conflicts).toEqual([
        { field: 'description', base: 'Oak, 160 cm', draft: 'Hers', current: 'His' },
      ]);
      expect(merge.fromDraft).toEqual(['price']);
      expect(merge.fromServer).toEqual(['category']);
      // Until settled, the conflict keeps the current value.
      expect(merge.merged.description).toBe('His');
      const resolved = resolveConflicts(merge, { description: choice });
      const saved = await as(ALICE, () =>
        persistence.autoSave('Product', { ...resolved, id: product.id, version: merge.currentVersion }),
      );
      expect(saved.record, choice).toMatchObject({
        description: expected,
        category: 'Office',
        price: '1.50',
      });
    }
  });

  it('a field both changed to the same value is neither a conflict nor a change of hers', async () => {
    const product = await as(ALICE, () => createProduct(persistence));
    await as(BOB, () => persistence.autoSave('Product', { id: product.id, price: '480.00' }));
    const merge = await persistence.mergeStale('Product', product.id, formOf(product, { price: '480' }), 1);
    expect(merge.conflicts).toEqual([]);
    expect(merge.fromDraft).toEqual([]);
    expect(merge.merged.price).toBe('480.00');
  });

  it('names the last author of each field across several saves since the base', async () => {
    const product = await as(ALICE, () => createProduct(persistence));
    const first = await as(BOB, () =>
      persistence.autoSave('Product', { id: product.id, name: 'B1', quantity: 1 }),
    );
    const second = await as(ALICE, () => persistence.autoSave('Product', { id: product.id, name: 'A2' }));
    const merge = await persistence.readWithBase('Product', product.id, 1);
    expect(merge.currentVersion).toBe(3);
    expect(merge.changedBy).toEqual({ actor: ALICE, at: second.entry?.time, version: 3 });
    expect(merge.fieldAuthors).toEqual({
      name: { actor: ALICE, at: second.entry?.time, version: 3 },
      quantity: { actor: BOB, at: first.entry?.time, version: 2 },
    });
    // From the current version itself: nothing changed since, base and current the same.
    const fresh = await persistence.readWithBase('Product', product.id, 3);
    expect(fresh.fieldAuthors).toEqual({});
    expect(fresh.base).toEqual(fresh.current);
  });

  it('without a base (a version it never had) every field that differs is a conflict, with no original', async () => {
    const product = await as(ALICE, () => createProduct(persistence, { name: 'Desk' }));
    await as(BOB, () => persistence.autoSave('Product', { id: product.id, name: 'Oak desk' }));
    const merge = await persistence.mergeStale(
      'Product',
      product.id,
      formOf(product, { price: '450.00', version: 7 }),
      7,
    );
    expect(merge.baseStatus).toBe('unknown');
    expect(merge.base).toBeNull();
    expect(merge.fieldAuthors).toEqual({});
    expect(merge.changedBy?.actor).toBe(BOB);
    expect(merge.fromDraft).toEqual([]);
    expect(merge.conflicts).toEqual([
      { field: 'name', base: undefined, draft: 'Desk', current: 'Oak desk' },
      { field: 'price', base: undefined, draft: '450.00', current: '500.00' },
    ]);
  });

  it('answers pruned when the base was pruned away, and then offers every differing field as a conflict', async () => {
    let now = new Date('2002-01-01T00:00:00.000Z');
    const clock: Clock = { now: () => now };
    const old = createAppPersistence({ db: current().opened.db, clock });
    const product = await old.runAs(ALICE, () => createProduct(old, { quantity: 1 }));
    now = new Date('2002-01-02T00:00:00.000Z');
    await old.runAs(BOB, () => old.autoSave('Product', { id: product.id, quantity: 2 }));
    now = new Date('2002-03-01T00:00:00.000Z');
    await old.runAs(BOB, () => old.autoSave('Product', { id: product.id, name: 'Renamed' }));
    await pruneActivityLog(current().opened.db, new Date('2002-02-01T00:00:00.000Z'));

    const merge = await old.mergeStale('Product', product.id, formOf(product, { price: '9.99' }), 1);
    expect(merge).toMatchObject({ baseStatus: 'pruned', base: null, oldestVersion: 2, currentVersion: 3 });
    expect(merge.conflicts.map((conflict) => conflict.field)).toEqual(['name', 'price', 'quantity']);
    expect(merge.conflicts.every((conflict) => conflict.base === undefined)).toBe(true);
    // What the log still holds after the base: the checkpoint (quantity) and the rename.
    expect(Object.keys(merge.fieldAuthors).toSorted()).toEqual(['name', 'quantity']);
  });

  it('refuses what a save would refuse, and a record that is gone', async () => {
    const product = await createProduct(persistence);
    await expect(persistence.mergeStale('Product', product.id, { price: 'cheap' }, 1)).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(persistence.mergeStale('Product', product.id, { colour: 'red' }, 1)).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(persistence.mergeStale('Product', product.id, {}, -1)).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(persistence.mergeStale('Nope', product.id, {}, 1)).rejects.toBeInstanceOf(UnknownModelError);
    for (const id of ['abc', '0', '2147483648', 999_999_999]) {
      await expect(persistence.readWithBase('Product', id, 1), String(id)).rejects.toBeInstanceOf(
        NotFoundError,
      );
    }
    await persistence.autoDelete('Product', product.id);
    await expect(persistence.mergeStale('Product', product.id, {}, 1)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('leaves secret fields out of the base, the current record and the authors', async () => {
    const created = await persistence.autoSave('User', {
      username: `merge-${process.pid}-${Date.now()}`,
      display_name: 'Ada',
      password_hash: 'scrypt$secret-one',
    });
    await persistence.autoSave('User', {
      id: created.record.id,
      password_hash: 'scrypt$secret-two',
      display_name: 'Ada L.',
    });
    const record = await persistence.readWithBase('User', created.record.id as number, 1);
    expect(record.base).not.toHaveProperty('password_hash');
    expect(record.current).not.toHaveProperty('password_hash');
    expect(Object.keys(record.fieldAuthors)).toEqual(['display_name']);
    expect(JSON.stringify(record)).not.toContain('secret-');
  });
});
