import { beforeAll, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import {
  ConflictError,
  NotFoundError,
  type Persistence,
  type PersistenceHooks,
  UnknownModelError,
  ValidationError,
  VerificationError,
} from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { installFault } from '../../support/faults.js';
import { createProduct, productValues, snapshotTables } from '../../support/persistence-fixtures.js';

describeEachDatabase('persistence manager', (current) => {
  let persistence: Persistence;
  beforeAll(() => {
    persistence = createAppPersistence({ db: current().opened.db });
  });

  describe('autoSave', () => {
    it('creates a record at version 1 and logs every field as created', async () => {
      const result = await persistence.autoSave('Product', productValues({ name: 'Desk', price: '500' }));
      expect(result.created).toBe(true);
      expect(result.version).toBe(1);
      expect(result.record.price).toBe('500.00');
      const entry = result.entry;
      expect(entry?.action).toBe('create');
      expect(entry?.actor).toBe('system');
      expect(entry?.objectId).toBe(String(result.record.id));
      expect(entry?.changes.name).toEqual([null, 'Desk']);
      expect(entry?.changes.price).toEqual([null, '500.00']);
      expect(entry?.version).toBe(1);
    });

    it('updates only what changed, bumps the version and logs before and after', async () => {
      const product = await createProduct(persistence, { price: '10.00', name: 'Chair' });
      const result = await persistence.autoSave('Product', { id: product.id, version: 1, price: '12.50' });
      expect(result.version).toBe(2);
      expect(result.record.price).toBe('12.50');
      expect(result.entry?.action).toBe('update');
      expect(result.entry?.changes).toEqual({ price: ['10.00', '12.50'] });
      expect(result.entry?.snapshot.name).toBe('Chair');
    });

    it('writes and logs nothing when the values match the record', async () => {
      const product = await createProduct(persistence);
      const before = await snapshotTables(current().opened.db);
      const result = await persistence.autoSave('Product', { id: product.id, name: product.name });
      expect(result.changed).toBe(false);
      expect(result.entry).toBeNull();
      expect(await snapshotTables(current().opened.db)).toEqual(before);
    });

    it('refuses a stale version with a ConflictError carrying the current record, writing nothing', async () => {
      const product = await createProduct(persistence);
      await persistence.autoSave('Product', { id: product.id, version: 1, name: 'Newer' });
      const before = await snapshotTables(current().opened.db);
      const error = await persistence
        .autoSave('Product', { id: product.id, version: 1, name: 'Older' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).currentVersion).toBe(2);
      expect((error as ConflictError).current?.name).toBe('Newer');
      expect(await snapshotTables(current().opened.db)).toEqual(before);
    });

    it('names the bad field and writes nothing for invalid values', async () => {
      const before = await snapshotTables(current().opened.db);
      const bad = await persistence
        .autoSave('Product', productValues({ price: 'ten' }))
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ValidationError);
      expect((bad as ValidationError).field).toBe('price');
      const unknown = await persistence
        .autoSave('Product', productValues({ colour: 'red' }))
        .catch((e: unknown) => e);
      expect((unknown as ValidationError).field).toBe('colour');
      await expect(persistence.autoSave('Nope', {})).rejects.toBeInstanceOf(UnknownModelError);
      // PostgreSQL text holds no NUL: refused on both engines alike, naming the field.
      const nul = await persistence
        .autoSave('Product', productValues({ description: 'Desk\u0000lamp' }))
        .catch((e: unknown) => e);
      expect(nul).toBeInstanceOf(ValidationError);
      expect((nul as ValidationError).field).toBe('description');
      // A lone surrogate would be written as U+FFFD by both drivers and fail the read-back check.
      const broken = await persistence
        .autoSave('Product', productValues({ description: 'half \ud83d of an emoji' }))
        .catch((e: unknown) => e);
      expect(broken).toBeInstanceOf(ValidationError);
      expect((broken as ValidationError).message).toMatch(/description: must be valid Unicode/);
      // The same for a string key (settings are keyed by text), on save, delete and revert.
      for (const attempt of [
        () => persistence.autoSave('Setting', { id: 'app.x\u0000', value: '"v"' }),
        () => persistence.autoDelete('Setting', 'app.\ud800'),
        () => persistence.revert('Setting', 'app.x\u0000', 1),
      ]) {
        const refused = await attempt().catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(ValidationError);
        expect((refused as ValidationError).field).toBe('id');
      }
      expect(await snapshotTables(current().opened.db)).toEqual(before);
      const emoji = await persistence.autoSave('Product', productValues({ description: 'a whole 😀' }));
      expect(emoji.record.description).toBe('a whole 😀');
    });

    it('turns a duplicate unique value into a ValidationError naming the field', async () => {
      const product = await createProduct(persistence);
      const error = await persistence
        .autoSave('Product', productValues({ sku: product.sku }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('sku');
    });

    it('refuses to update a record that does not exist', async () => {
      await expect(persistence.autoSave('Product', { id: 987654, name: 'x' })).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it('attributes the change to the actor, request and IP from the context', async () => {
      const result = await persistence.runAs({ actor: '7', requestId: 'req-1', ip: '10.1.2.3' }, () =>
        persistence.autoSave('Product', productValues()),
      );
      expect(result.entry).toMatchObject({ actor: '7', requestId: 'req-1', ip: '10.1.2.3' });
    });

    it('logs a secret field as changed, never its value', async () => {
      const { record } = await persistence.autoSave('User', {
        username: `u${Date.now()}`,
        display_name: 'U',
        password_hash: 'scrypt$secret-one',
      });
      const updated = await persistence.autoSave('User', {
        id: record.id,
        password_hash: 'scrypt$secret-two',
      });
      expect(updated.entry?.changes.password_hash).toEqual(['[changed]', '[changed]']);
      const rows = await current()
        .opened.db.selectFrom('steadfast_activity_log')
        .select(['changes', 'snapshot'])
        .execute();
      for (const row of rows) {
        expect(row.changes).not.toContain('secret-');
        expect(row.snapshot).not.toContain('secret-');
      }
    });
  });

  describe('faults mid-save roll back the record and its log together', () => {
    const steps: Array<keyof PersistenceHooks> = ['beforeWrite', 'afterWrite', 'afterVerify', 'beforeLog'];
    for (const step of steps) {
      it(`a failure at ${step} leaves record and log unchanged (create and update)`, async () => {
        const product = await createProduct(persistence);
        const faulty = createAppPersistence({
          db: current().opened.db,
          hooks: {
            [step]: () => {
              throw new Error(`injected at ${step}`);
            },
          },
        });
        const before = await snapshotTables(current().opened.db);
        await expect(faulty.autoSave('Product', productValues())).rejects.toThrow(`injected at ${step}`);
        await expect(
          faulty.autoSave('Product', { id: product.id, version: 1, name: 'Changed' }),
        ).rejects.toThrow(`injected at ${step}`);
        await expect(faulty.autoDelete('Product', product.id)).rejects.toThrow(`injected at ${step}`);
        expect(await snapshotTables(current().opened.db)).toEqual(before);
      });
    }

    it('a database error in the log write rolls back the record', async () => {
      const product = await createProduct(persistence);
      const before = await snapshotTables(current().opened.db);
      const remove = await installFault(current(), 'log-insert-fails');
      try {
        await expect(persistence.autoSave('Product', productValues())).rejects.toThrow(
          /injected: log write failed/,
        );
        await expect(persistence.autoSave('Product', { id: product.id, name: 'Changed' })).rejects.toThrow(
          /injected: log write failed/,
        );
      } finally {
        await remove();
      }
      expect(await snapshotTables(current().opened.db)).toEqual(before);
    });

    it('a row that reads back different from what was written fails verification and rolls back', async () => {
      const product = await createProduct(persistence);
      const before = await snapshotTables(current().opened.db);
      const remove = await installFault(current(), 'row-tampered-on-write');
      try {
        const created = await persistence.autoSave('Product', productValues()).catch((e: unknown) => e);
        expect(created).toBeInstanceOf(VerificationError);
        expect((created as VerificationError).field).toBe('name');
        const updated = await persistence
          .autoSave('Product', { id: product.id, name: 'Changed' })
          .catch((e: unknown) => e);
        expect(updated).toBeInstanceOf(VerificationError);
      } finally {
        await remove();
      }
      expect(await snapshotTables(current().opened.db)).toEqual(before);
    });
  });

  it('two concurrent saves at one version: one applied, one ConflictError, one log entry', async () => {
    const product = await createProduct(persistence);
    const outcomes = await Promise.allSettled([
      persistence.autoSave('Product', { id: product.id, version: 1, name: 'From A' }),
      persistence.autoSave('Product', { id: product.id, version: 1, name: 'From B' }),
    ]);
    const applied = outcomes.filter((o) => o.status === 'fulfilled');
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(applied).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    const entries = await persistence.activityLog.query({ model: 'Product', objectId: String(product.id) });
    expect(entries.entries.filter((e) => e.action === 'update')).toHaveLength(1);
    const row = await current()
      .opened.db.selectFrom('products')
      .selectAll()
      .where('id', '=', product.id)
      .executeTakeFirstOrThrow();
    expect(row.version).toBe(2);
    expect(row.name).toBe(entries.entries[0]?.snapshot.name);
  });

  describe('transactions', () => {
    it('withTransaction joins every save and rolls them all back on a throw', async () => {
      const before = await snapshotTables(current().opened.db);
      await expect(
        persistence.withTransaction(async () => {
          await persistence.autoSave('Product', productValues());
          await persistence.autoSave('Product', productValues());
          throw new Error('handler failed');
        }),
      ).rejects.toThrow('handler failed');
      expect(await snapshotTables(current().opened.db)).toEqual(before);
    });

    it('a failed nested save undoes only itself (savepoint) when the caller handles it', async () => {
      const product = await createProduct(persistence);
      const kept = await persistence.withTransaction(async () => {
        const saved = await persistence.autoSave('Product', productValues({ name: 'Kept' }));
        await persistence
          .autoSave('Product', { id: product.id, version: 99, name: 'x' })
          .catch(() => undefined);
        await persistence
          .withTransaction(async () => {
            await persistence.autoSave('Product', productValues({ name: 'Undone' }));
            throw new Error('inner');
          })
          .catch(() => undefined);
        return saved.record.id;
      });
      const names = await current().opened.db.selectFrom('products').select('name').execute();
      expect(names.map((n) => n.name)).toContain('Kept');
      expect(names.map((n) => n.name)).not.toContain('Undone');
      const log = await persistence.activityLog.query({ model: 'Product', objectId: String(kept) });
      expect(log.entries).toHaveLength(1);
    });

    it('onCommit runs after a commit and never after a rollback', async () => {
      const calls: string[] = [];
      await persistence.withTransaction(async () => {
        persistence.onCommit(() => calls.push('committed'));
        await persistence.autoSave('Product', productValues());
        expect(calls).toEqual([]);
      });
      await persistence
        .withTransaction(async () => {
          persistence.onCommit(() => calls.push('rolled back'));
          throw new Error('no');
        })
        .catch(() => undefined);
      expect(calls).toEqual(['committed']);
    });
  });

  it('logs "[PERSISTENCE] Successfully saved <Model>" after a commit, never for a rolled-back save', async () => {
    const lines: string[] = [];
    const logged = createAppPersistence({
      db: current().opened.db,
      logger: { info: (line) => lines.push(line) },
    });
    await logged.autoSave('Product', productValues());
    await logged
      .withTransaction(async () => {
        await logged.autoSave('Product', productValues());
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(lines).toEqual(['[PERSISTENCE] Successfully saved Product']);
  });

  describe('group commit', () => {
    it('concurrent saves share commits yet fail alone: a save failing after its write rejects, the rest are saved and logged', async () => {
      const poisoned = createAppPersistence({
        db: current().opened.db,
        hooks: {
          afterWrite: (step) => {
            if (step.values.name === 'poison') throw new Error('poisoned after write');
          },
        },
      });
      const before = await persistence.activityLog.query({ limit: 1 });
      const calls: string[] = [];
      const saves = Array.from({ length: 12 }, (_, i) =>
        poisoned.runAs(`user-${i}`, async () => {
          const result = await poisoned.autoSave('Product', productValues({ name: `Group ${i}` }));
          poisoned.onCommit(() => calls.push(`committed ${i}`));
          return result;
        }),
      );
      const poison = poisoned.autoSave('Product', productValues({ name: 'poison' }));
      const outcomes = await Promise.allSettled([...saves.slice(0, 6), poison, ...saves.slice(6)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(12);
      const failed = outcomes[6];
      expect(failed?.status === 'rejected' && String(failed.reason)).toMatch(/poisoned after write/);
      const poisonRows = await current()
        .opened.db.selectFrom('products')
        .select('id')
        .where('name', '=', 'poison')
        .execute();
      expect(poisonRows).toEqual([]);
      const page = await persistence.activityLog.query({ limit: 50 });
      const newer = page.entries.filter((e) => e.id > (before.entries[0]?.id ?? 0));
      expect(newer).toHaveLength(12);
      expect(new Set(newer.map((e) => e.actor)).size).toBe(12);
      expect(calls).toHaveLength(12);
    });

    it('an onCommit registered inside a savepoint that rolled back never runs', async () => {
      const calls: string[] = [];
      await persistence.withTransaction(async () => {
        await persistence
          .withTransaction(async () => {
            persistence.onCommit(() => calls.push('undone'));
            throw new Error('inner fails');
          })
          .catch(() => undefined);
        persistence.onCommit(() => calls.push('kept'));
      });
      expect(calls).toEqual(['kept']);
    });
  });

  describe('autoSaveBulk', () => {
    it('saves all with one log entry each', async () => {
      const results = await persistence.autoSaveBulk('Product', [
        productValues(),
        productValues(),
        productValues(),
      ]);
      expect(results).toHaveLength(3);
      const ids = new Set(results.map((r) => r.entry?.id));
      expect(ids.size).toBe(3);
      for (const result of results) expect(result.entry?.objectId).toBe(String(result.record.id));
    });

    it('saves none when one is invalid', async () => {
      const before = await snapshotTables(current().opened.db);
      await expect(
        persistence.autoSaveBulk('Product', [
          productValues(),
          productValues({ quantity: -1 }),
          productValues(),
        ]),
      ).rejects.toBeInstanceOf(ValidationError);
      expect(await snapshotTables(current().opened.db)).toEqual(before);
    });

    it('chains two changes to one record in one batch', async () => {
      const product = await createProduct(persistence);
      const results = await persistence.autoSaveBulk('Product', [
        { id: product.id, name: 'First' },
        { id: product.id, name: 'Second' },
      ]);
      expect(results.map((r) => r.version)).toEqual([2, 3]);
      const report = await import('../../../packages/steadfast/src/persistence/index.js').then((m) =>
        m.verifyActivityLog(current().opened.db, persistence.registry),
      );
      expect(report.problems).toEqual([]);
    });
  });

  describe('autoDelete and revert', () => {
    it('deletes and logs the last state; a stale version deletes nothing', async () => {
      const product = await createProduct(persistence, { name: 'Gone soon' });
      await expect(
        persistence.autoDelete('Product', product.id, { expectedVersion: 7 }),
      ).rejects.toBeInstanceOf(ConflictError);
      const { entry } = await persistence.autoDelete('Product', product.id, { expectedVersion: 1 });
      expect(entry.action).toBe('delete');
      expect(entry.changes.name).toEqual(['Gone soon', null]);
      expect(entry.snapshot.name).toBe('Gone soon');
      const row = await current()
        .opened.db.selectFrom('products')
        .select('id')
        .where('id', '=', product.id)
        .executeTakeFirst();
      expect(row).toBeUndefined();
    });

    it('reverts to a logged version, logged as revert', async () => {
      const product = await createProduct(persistence, { name: 'Original', price: '1.00' });
      await persistence.autoSave('Product', { id: product.id, name: 'Second', price: '2.00' });
      const result = await persistence.revert('Product', product.id, 1, { expectedVersion: 2 });
      expect(result.version).toBe(3);
      expect(result.record).toMatchObject({ name: 'Original', price: '1.00' });
      expect(result.entry?.action).toBe('revert');
      expect(result.entry?.changes).toEqual({ name: ['Second', 'Original'], price: ['2.00', '1.00'] });
      await expect(
        persistence.revert('Product', product.id, 1, { expectedVersion: 2 }),
      ).rejects.toBeInstanceOf(ConflictError);
    });

    it('reverting a deleted record brings it back under its id', async () => {
      const product = await createProduct(persistence, { name: 'Phoenix' });
      await persistence.autoDelete('Product', product.id);
      const result = await persistence.revert('Product', product.id, 1);
      expect(result.record).toMatchObject({ id: product.id, name: 'Phoenix', version: 3 });
      const report = await import('../../../packages/steadfast/src/persistence/index.js').then((m) =>
        m.verifyActivityLog(current().opened.db, persistence.registry),
      );
      expect(report.problems).toEqual([]);
    });
  });

  describe('ActivityLog queries', () => {
    it('filters by model, object, actor, action and time, newest first, paged by cursor', async () => {
      const product = await createProduct(persistence);
      await persistence.runAs('alice', async () => {
        for (let i = 1; i <= 5; i += 1) {
          await persistence.autoSave('Product', { id: product.id, quantity: i + 100 });
        }
      });
      const objectId = String(product.id);
      const first = await persistence.activityLog.query({ model: 'Product', objectId, limit: 4 });
      expect(first.entries.map((e) => e.version)).toEqual([6, 5, 4, 3]);
      expect(first.nextCursor).not.toBeNull();
      const second = await persistence.activityLog.query({
        model: 'Product',
        objectId,
        limit: 4,
        cursor: first.nextCursor ?? undefined,
      });
      expect(second.entries.map((e) => e.version)).toEqual([2, 1]);
      expect(second.nextCursor).toBeNull();
      const byActor = await persistence.activityLog.query({ actor: 'alice', objectId });
      expect(byActor.entries).toHaveLength(5);
      const creates = await persistence.activityLog.query({ action: 'create', objectId });
      expect(creates.entries).toHaveLength(1);
      const future = await persistence.activityLog.query({ from: '2999-01-01T00:00:00Z' });
      expect(future.entries).toHaveLength(0);
      const until = await persistence.activityLog.query({ to: '2000-01-01T00:00:00Z' });
      expect(until.entries).toHaveLength(0);
    });

    it('rejects a malformed query naming the field', async () => {
      await expect(persistence.activityLog.query({ cursor: 'abc' })).rejects.toThrow(/cursor/);
      await expect(persistence.activityLog.query({ limit: 100000 })).rejects.toThrow(/limit/);
      await expect(persistence.activityLog.query({ action: 'explode' as 'create' })).rejects.toThrow(
        /action/,
      );
    });
  });
});
