/**
 * The statements a save runs: how many (each a round trip on PostgreSQL), and that writing the log
 * entry in the same statement as the row (PostgreSQL) still verifies what the database stored,
 * including a row written again by an AFTER trigger, which RETURNING does not see.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { type OpenedDatabase, openDatabase } from '../../../packages/steadfast/src/db/index.js';
import {
  type Persistence,
  VerificationError,
  verifyActivityLog,
} from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase, type TestDatabase } from '../../support/databases.js';
import { createProduct, snapshotTables } from '../../support/persistence-fixtures.js';

/**
 * A trigger on products, when a save writes the name `when`: `rewrite` writes the name again after
 * the update (an AFTER trigger, on both engines); `note` sets the description, a field the save did
 * not write (BEFORE on PostgreSQL, which changes NEW; AFTER on SQLite, which has no other way).
 */
async function installTrigger(
  database: TestDatabase,
  kind: 'rewrite' | 'note',
): Promise<() => Promise<void>> {
  const { db } = database.opened;
  const when = kind === 'rewrite' ? 'rewrite me' : 'note me';
  if (database.engine === 'sqlite') {
    const action =
      kind === 'rewrite'
        ? sql`update products set name = 'rewritten' where id = new.id`
        : sql`update products set description = 'noted by a trigger' where id = new.id`;
    await sql`create trigger save_statements_fault after update on products when new.name = ${sql.lit(when)}
      begin ${action}; end`.execute(db);
    return async () => void (await sql`drop trigger save_statements_fault`.execute(db));
  }
  const body =
    kind === 'rewrite'
      ? sql.raw(
          `begin if new.name = '${when}' then update products set name = 'rewritten' where id = new.id; end if; return null; end`,
        )
      : sql.raw(
          `begin if new.name = '${when}' then new.description := 'noted by a trigger'; end if; return new; end`,
        );
  await sql`create or replace function save_statements_fault() returns trigger language plpgsql as $$ ${body} $$`.execute(
    db,
  );
  await sql`create trigger save_statements_fault ${sql.raw(kind === 'rewrite' ? 'after' : 'before')} update on products
    for each row execute function save_statements_fault()`.execute(db);
  return async () => void (await sql`drop trigger save_statements_fault on products`.execute(db));
}

describeEachDatabase('save statements', (current) => {
  // The persistence under test runs on a second Kysely over the same database, one that records
  // every statement it sends (`begin` and `commit` included).
  let counted: OpenedDatabase;
  let persistence: Persistence;
  let statements: string[];
  let batches: number[];
  beforeAll(async () => {
    counted = await openDatabase(current().url, {
      migrate: false,
      log: (event) => {
        statements.push(event.query.sql);
      },
    });
    persistence = createAppPersistence({
      db: counted.db,
      onSaveBatch: (size, outcome) => outcome === 'committed' && batches.push(size),
    });
  });
  afterAll(() => counted.close());
  beforeEach(() => {
    statements = [];
    batches = [];
  });

  const products = async (count: number) => {
    const made = [];
    for (let i = 0; i < count; i += 1) made.push(await createProduct(persistence));
    statements = [];
    return made;
  };

  describe('statements per save', () => {
    it('an update is begin, read, write with its log entry, commit on PostgreSQL; SQLite logs in a statement of its own', async () => {
      const [product] = await products(1);
      const result = await persistence.autoSave('Product', { id: product?.id, quantity: 41 });
      expect(result.entry?.changes).toEqual({ quantity: [3, 41] });
      // A table with no trigger: the write answers the row stored, and nothing reads it back.
      expect(statements).toHaveLength(current().engine === 'postgres' ? 4 : 5);
    });

    it('a batch of updates of one shape is four statements on PostgreSQL, whatever its size', async () => {
      const made = await products(5);
      await Promise.all(
        made.map((product, i) => persistence.autoSave('Product', { id: product.id, quantity: 100 + i })),
      );
      expect(batches).toEqual([5]);
      // SQLite: begin, read, one update each, the log (4 + 1 rows: chunks of powers of two), commit.
      expect(statements).toHaveLength(current().engine === 'postgres' ? 4 : 5 + 5);
      const report = await verifyActivityLog(current().opened.db, persistence.registry);
      expect(report.problems).toEqual([]);
    });
  });

  describe('verification of what the database stored', () => {
    it('a row written again after the update (an AFTER trigger) fails verification, alone and batched, and rolls back', async () => {
      const made = await products(3);
      const before = await snapshotTables(current().opened.db);
      const remove = await installTrigger(current(), 'rewrite');
      try {
        const alone = await persistence
          .autoSave('Product', { id: made[0]?.id, name: 'rewrite me' })
          .catch((error: unknown) => error);
        expect(alone).toBeInstanceOf(VerificationError);
        expect((alone as VerificationError).field).toBe('name');
        expect(await snapshotTables(current().opened.db)).toEqual(before);

        const outcomes = await Promise.allSettled(
          made.map((product, i) =>
            persistence.autoSave('Product', { id: product.id, name: i === 1 ? 'rewrite me' : `Kept ${i}` }),
          ),
        );
        expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(VerificationError);
      } finally {
        await remove();
      }
      const names = await current()
        .opened.db.selectFrom('products')
        .select('name')
        .where(
          'id',
          'in',
          made.map((product) => product.id),
        )
        .orderBy('id')
        .execute();
      expect(names.map((row) => row.name)).toEqual(['Kept 0', made[1]?.name, 'Kept 2']);
    });

    it('a field the save did not write, changed on its way in: saved, and its entry logs the row as stored', async () => {
      const made = await products(3);
      const remove = await installTrigger(current(), 'note');
      try {
        const alone = await persistence.autoSave('Product', { id: made[0]?.id, name: 'note me' });
        expect(alone.record.description).toBe('noted by a trigger');
        expect(alone.entry?.snapshot.description).toBe('noted by a trigger');
        expect(alone.entry?.changes.description).toEqual(['Oak, 160 cm', 'noted by a trigger']);

        const batched = await Promise.all(
          made
            .slice(1)
            .map((product) => persistence.autoSave('Product', { id: product.id, name: 'note me' })),
        );
        for (const saved of batched) expect(saved.entry?.snapshot.description).toBe('noted by a trigger');
      } finally {
        await remove();
      }
      const report = await verifyActivityLog(current().opened.db, persistence.registry);
      expect(report.problems).toEqual([]);
    });
  });
});
