/**
 * An app's existing tables have numeric, timestamp, date and jsonb columns, which store a value in
 * their own spelling: "5" as 5.00, a time as the instant it names, an object's keys in jsonb's
 * order. Such a save is verified and logged as
 * stored; a value the column changed (rounded a double, rounded a scale) still fails verification
 * and writes nothing. Before, every one of these saves failed its read-back verification.
 */
import { type Kysely, sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createPersistence,
  defineModel,
  type Persistence,
  VerificationError,
  verifyActivityLog,
} from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';

const gadgetModel = defineModel({
  name: 'Gadget',
  table: 'gadgets',
  primaryKey: 'id',
  generatedKey: true,
  trackedFields: ['price', 'ratio', 'seen_at', 'day', 'meta'],
  schema: z.object({
    price: z.union([z.string(), z.number()]),
    ratio: z.union([z.string(), z.number()]).nullable().optional(),
    seen_at: z.string().nullable().optional(),
    day: z.string().nullable().optional(),
    meta: z.record(z.string(), z.unknown()).nullable().optional(),
  }),
});

describeEachDatabase('columns that spell a value their own way', (current) => {
  let persistence: Persistence;
  // biome-ignore lint/suspicious/noExplicitAny: a table of this test's own.
  const db = () => current().opened.db as unknown as Kysely<any>;
  const postgres = () => current().engine === 'postgres';
  const gadgetCount = async () =>
    Number(
      (
        await db()
          .selectFrom('gadgets')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    await (postgres()
      ? sql`create table gadgets (id serial primary key, price numeric(10,2) not null,
          ratio double precision, seen_at timestamptz, day date, meta jsonb, version integer not null default 1)`
      : sql`create table gadgets (id integer primary key autoincrement, price numeric not null,
          ratio real, seen_at text, day text, meta text, version integer not null default 1)`
    ).execute(db());
    persistence = createPersistence({ db: current().opened.db, models: [gadgetModel] });
  });

  it('saves and logs a value as its column stores it, alone and batched, and the log verifies', async () => {
    const { record, entry } = await persistence.autoSave('Gadget', {
      price: '5.0',
      ratio: 0.5,
      seen_at: '2026-01-01T00:00:00+01:00',
      day: '2026-01-31',
    });
    // PostgreSQL: numeric(10,2) and timestamptz; SQLite: NUMERIC affinity stores 5.0 as 5, text as given.
    expect(record.price).toEqual(postgres() ? '5.00' : 5);
    if (postgres()) expect((record.seen_at as Date).toISOString()).toBe('2025-12-31T23:00:00.000Z');
    expect(entry?.snapshot.price).toEqual(postgres() ? '5.00' : 5);

    const updated = await persistence.autoSave('Gadget', { id: record.id, price: '12.5' });
    expect(updated.record.price).toEqual(postgres() ? '12.50' : 12.5);
    expect(updated.entry?.changes).toEqual({ price: postgres() ? ['5.00', '12.50'] : [5, 12.5] });

    const other = await persistence.autoSave('Gadget', { price: '1' });
    const batched = await Promise.all([
      persistence.autoSave('Gadget', { id: record.id, price: '7', day: '2026-02-01' }),
      persistence.autoSave('Gadget', { id: other.record.id, price: 2 }),
    ]);
    expect(batched.map((result) => result.record.price)).toEqual(postgres() ? ['7.00', '2.00'] : [7, 2]);
    // The values stored, in another spelling: nothing to write, no new version.
    const again = await persistence.autoSave('Gadget', {
      id: record.id,
      price: '7.00',
      seen_at: postgres() ? '2025-12-31T23:00:00Z' : '2026-01-01T00:00:00+01:00',
      day: '2026-02-01',
    });
    expect(again).toMatchObject({ changed: false, version: 3 });
    if (postgres()) {
      // jsonb stores an object's keys in an order of its own: the same object, saved and unchanged.
      const meta = { zeta: 1, b: { y: [2, 1], x: null } };
      const withMeta = await persistence.autoSave('Gadget', { id: record.id, meta });
      expect(withMeta.record.meta).toEqual(meta);
      expect(Object.keys(withMeta.record.meta as object)).not.toEqual(Object.keys(meta));
      const reordered = await persistence.autoSave('Gadget', {
        id: record.id,
        meta: { b: { x: null, y: [2, 1] }, zeta: 1 },
      });
      expect(reordered.changed).toBe(false);
      const arrayOrder = await persistence.autoSave('Gadget', {
        id: record.id,
        meta: { zeta: 1, b: { y: [1, 2], x: null } },
      });
      expect(arrayOrder.changed).toBe(true);
    }
    const report = await verifyActivityLog(current().opened.db, persistence.registry);
    expect(report.problems).toEqual([]);
  });

  it('still refuses a value the column changed, and writes nothing', async () => {
    const { record } = await persistence.autoSave('Gadget', { price: '3' });
    const before = await gadgetCount();
    // More digits than a double holds: both engines round it.
    const rounded = await persistence
      .autoSave('Gadget', { id: record.id, ratio: '3.14159265358979323846' })
      .catch((error: unknown) => error);
    expect(rounded).toBeInstanceOf(VerificationError);
    expect((rounded as VerificationError).field).toBe('ratio');
    const created = await persistence
      .autoSave('Gadget', { price: '1', ratio: '0.12345678901234567890123' })
      .catch((error: unknown) => error);
    expect(created).toBeInstanceOf(VerificationError);
    if (postgres()) {
      // numeric(10,2) rounds a third decimal away.
      const scaled = await persistence
        .autoSave('Gadget', { id: record.id, price: '5.001' })
        .catch((error: unknown) => error);
      expect(scaled).toBeInstanceOf(VerificationError);
    }
    expect(await gadgetCount()).toBe(before);
    const stored = await db()
      .selectFrom('gadgets')
      .select(['ratio', 'version'])
      .where('id', '=', record.id)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ ratio: null, version: 1 });
  });
});
