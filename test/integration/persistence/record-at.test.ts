/**
 * `activityLog.recordAt`: a record's tracked fields at any logged version, rebuilt from the log, the
 * base a stale draft is merged against. Each version must come back exactly as the save that made
 * it returned it, whichever path wrote it (single, batched, bulk, revert, in a transaction).
 */
import { beforeAll, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import {
  ActivityLog,
  type Clock,
  type Persistence,
  pruneActivityLog,
  type RecordAtVersion,
  type SaveResult,
} from '../../../packages/steadfast/src/persistence/index.js';
import { MAX_STORED_INTEGER } from '../../../packages/steadfast/src/protocol/constants.js';
import { describeEachDatabase } from '../../support/databases.js';
import { createProduct, productValues } from '../../support/persistence-fixtures.js';

const PRODUCT_FIELDS = ['sku', 'name', 'description', 'price', 'quantity', 'category', 'active'] as const;

function trackedOf(record: Readonly<Record<string, unknown>>, fields: readonly string[] = PRODUCT_FIELDS) {
  return Object.fromEntries(fields.map((field) => [field, record[field]]));
}

function valuesOf(answer: RecordAtVersion): Readonly<Record<string, unknown>> {
  if (answer.status !== 'found') throw new Error(`expected a found version, got ${answer.status}`);
  return answer.values;
}

/** A clock the test moves by hand, so entries can be made older than a prune cut-off. */
function manualClock(start: string): Clock & { set(iso: string): void } {
  let now = new Date(start);
  return {
    now: () => now,
    set(iso) {
      now = new Date(iso);
    },
  };
}

describeEachDatabase('activityLog.recordAt', (current) => {
  let persistence: Persistence;
  const batchSizes: number[] = [];
  beforeAll(() => {
    persistence = createAppPersistence({
      db: current().opened.db,
      onSaveBatch: (size, outcome) => outcome === 'committed' && batchSizes.push(size),
    });
  });

  it('rebuilds every version of a long history exactly as its save returned it', async () => {
    const saved = new Map<number, Record<string, unknown>>();
    const keep = (result: SaveResult | undefined) => {
      if (!result) throw new Error('no save result');
      if (result.changed) saved.set(result.version, trackedOf(result.record));
      return result;
    };
    const created = keep(await persistence.autoSave('Product', productValues({ name: 'Desk', price: '5' })));
    const id = created.record.id as number;

    const edits: Array<Record<string, unknown>> = [
      { name: 'Oak desk' },
      { price: '480' },
      { quantity: 0, active: 0 },
      { description: 'Eiche, 160 cm – geölt 🌳\nzweite Zeile' },
      { category: '' },
      { name: 'Oak desk', price: '480.00' }, // no change: no version
      { quantity: 12, active: 1 },
      { description: '' },
      { name: 'Desk "Ada"', category: 'Office' },
      { price: '1234567.89' },
      { quantity: 1_000_000_000 },
    ];
    for (const edit of edits) keep(await persistence.autoSave('Product', { id, ...edit }));
    // A revert to version 3 is a version of its own, holding version 3's fields.
    const reverted = keep(await persistence.revert('Product', id, 3));
    expect(trackedOf(reverted.record)).toEqual(saved.get(3));
    // A bulk save with other records, concurrent (batched) saves, and a save inside a transaction.
    const other = await createProduct(persistence);
    const bulk = await persistence.autoSaveBulk('Product', [
      { id: other.id, name: 'Other' },
      { id, name: 'Bulk desk', quantity: 7 },
      productValues(),
    ]);
    keep(bulk[1]);
    const others = await Promise.all([createProduct(persistence), createProduct(persistence)]);
    const batched = await Promise.all([
      persistence.autoSave('Product', { id, price: '99.5' }),
      ...others.map((record) => persistence.autoSave('Product', { id: record.id, price: '1.00' })),
    ]);
    keep(batched[0]);
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    keep(await persistence.withTransaction(() => persistence.autoSave('Product', { id, active: 0 })));

    const versions = [...saved.keys()];
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, n) => n + 1));
    expect(versions.length).toBeGreaterThanOrEqual(15);
    for (const [version, values] of saved) {
      const answer = await persistence.activityLog.recordAt('Product', String(id), version);
      expect(answer.status, `version ${version}`).toBe('found');
      expect(valuesOf(answer), `version ${version}`).toEqual(values);
      expect(answer.status === 'found' && answer.entry.version).toBe(version);
    }
  });

  it('answers unknown for a version, record or model the log never had', async () => {
    const product = await createProduct(persistence);
    await persistence.autoSave('Product', { id: product.id, quantity: 99 });
    const log = persistence.activityLog;
    const objectId = String(product.id);
    for (const version of [3, 0, -1, 2.5, Number.NaN, MAX_STORED_INTEGER + 1, Number.MAX_SAFE_INTEGER + 2]) {
      expect(await log.recordAt('Product', objectId, version), `version ${version}`).toEqual({
        status: 'unknown',
        version,
      });
    }
    expect((await log.recordAt('Product', '999999999', 1)).status).toBe('unknown');
    expect((await log.recordAt('Product', 'not-a-number', 1)).status).toBe('unknown');
    expect((await log.recordAt('Nope', objectId, 1)).status).toBe('unknown');
    expect((await log.recordAt('Product', objectId, 2)).status).toBe('found');
  });

  it('answers deleted for the version a delete made, and keeps rebuilding the versions before and after it', async () => {
    const product = await createProduct(persistence, { name: 'Short-lived' });
    const { entry } = await persistence.autoDelete('Product', product.id);
    expect(entry.version).toBe(2);
    const log = persistence.activityLog;
    const atDelete = await log.recordAt('Product', String(product.id), 2);
    expect(atDelete.status).toBe('deleted');
    expect(atDelete.status === 'deleted' && atDelete.entry.id).toBe(entry.id);
    expect(valuesOf(await log.recordAt('Product', String(product.id), 1))).toEqual(trackedOf(product));
    // Reverting the delete re-creates the record under its key, continuing its versions.
    const revived = await persistence.revert('Product', product.id, 1);
    expect(revived.version).toBe(3);
    expect(valuesOf(await log.recordAt('Product', String(product.id), 3))).toEqual(trackedOf(product));
  });

  it('answers pruned for a version older than the checkpoint pruning kept; the kept versions still rebuild', async () => {
    const clock = manualClock('2001-01-01T00:00:00.000Z');
    const old = createAppPersistence({ db: current().opened.db, clock });
    const saved = new Map<number, Record<string, unknown>>();
    const first = await old.autoSave('Product', productValues({ quantity: 1 }));
    const id = first.record.id as number;
    saved.set(1, trackedOf(first.record));
    for (let quantity = 2; quantity <= 8; quantity += 1) {
      // Versions 1..4 in January, 5..8 in March.
      clock.set(quantity <= 4 ? `2001-01-0${quantity}T00:00:00.000Z` : `2001-03-0${quantity}T00:00:00.000Z`);
      const result = await old.autoSave('Product', { id, quantity });
      saved.set(result.version, trackedOf(result.record));
    }
    const pruned = await pruneActivityLog(current().opened.db, new Date('2001-02-01T00:00:00.000Z'));
    expect(pruned.removed).toBeGreaterThanOrEqual(3);

    const log = old.activityLog;
    for (const version of [1, 2, 3]) {
      const answer = await log.recordAt('Product', String(id), version);
      expect(answer.status, `version ${version}`).toBe('pruned');
      // The checkpoint names the oldest version that can still be rebuilt.
      expect(answer.status === 'pruned' && answer.checkpoint.version).toBe(4);
    }
    for (const version of [4, 5, 6, 7, 8]) {
      expect(valuesOf(await log.recordAt('Product', String(id), version)), `version ${version}`).toEqual(
        saved.get(version),
      );
    }
    expect((await log.recordAt('Product', String(id), 9)).status).toBe('unknown');
    expect((await log.recordAt('Product', String(id), 0)).status).toBe('unknown');
  });

  it('leaves secret fields out of every version, given the model’s secret fields or not', async () => {
    const username = `ada-${process.pid}-${Date.now()}`;
    const created = await persistence.autoSave('User', {
      username,
      display_name: 'Ada',
      password_hash: 'scrypt$secret-one',
    });
    const id = String(created.record.id);
    await persistence.autoSave('User', { id: created.record.id, password_hash: 'scrypt$secret-two' });
    await persistence.autoSave('User', { id: created.record.id, display_name: 'Ada L.' });
    // The demo's User model tracks its `role` too (a user made without one is a viewer).
    const expected = [
      { username, display_name: 'Ada', role: 'viewer' },
      { username, display_name: 'Ada', role: 'viewer' },
      { username, display_name: 'Ada L.', role: 'viewer' },
    ];
    const secretFields = persistence.registry.get('User').secretFields;
    expect(secretFields).toEqual(['password_hash']);
    // The persistence's own log knows them from the registry; a bare log, from the redaction mark.
    const logs = [persistence.activityLog, new ActivityLog(persistence.context)];
    for (const [index, values] of expected.entries()) {
      for (const [log, options] of logs.flatMap((log) =>
        [{}, { secretFields }].map((o) => [log, o] as const),
      )) {
        const answer = await log.recordAt('User', id, index + 1, options);
        expect(valuesOf(answer)).toEqual(values);
        expect(JSON.stringify(answer)).not.toContain('secret-');
      }
    }
  });

  it('keeps a non-secret value that reads like the redaction mark: the log knows the model’s secret fields', async () => {
    const product = await createProduct(persistence, { name: '[changed]' });
    const log = persistence.activityLog;
    const secretFields = persistence.registry.get('Product').secretFields ?? [];
    expect(secretFields).toEqual([]);
    // createPersistence gives its log the model registry: the secret fields are known by default.
    expect(valuesOf(await log.recordAt('Product', String(product.id), 1))).toEqual(trackedOf(product));
    expect(valuesOf(await log.recordAt('Product', String(product.id), 1, { secretFields }))).toEqual(
      trackedOf(product),
    );
    // A log without the registry, told nothing: the mark is all there is to tell a redacted field
    // by, so such a value is left out too.
    const bare = new ActivityLog(persistence.context);
    expect(valuesOf(await bare.recordAt('Product', String(product.id), 1))).not.toHaveProperty('name');
    expect(valuesOf(await bare.recordAt('Product', String(product.id), 1, { secretFields }))).toEqual(
      trackedOf(product),
    );
  });
});
