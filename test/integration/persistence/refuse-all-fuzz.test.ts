/**
 * A hook that refuses everything, under fuzz: fast-check drives every entry of the persistence API
 * (saves alone, in bulk, concurrent ones that batch, saves sharing a group commit, saves inside a
 * transaction, deletes, reverts, log queries and entries, a record's past) with valid and hostile
 * values, as any actor. No call may succeed; one that reaches the hook fails with ForbiddenError,
 * one refused earlier with another PersistenceError (unknown model, bad key, missing record); and
 * every table (full dumps) is left as it was, but for one refusal entry per refused write. The log
 * still verifies. 600 runs on SQLite, 200 on PostgreSQL.
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import {
  type AuthorizeRequest,
  ForbiddenError,
  type Persistence,
  PersistenceError,
  verifyActivityLog,
} from '../../../packages/steadfast/src/persistence/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { anyScalar, hostileString } from '../../support/fuzz-arbitraries.js';
import { productValues } from '../../support/persistence-fixtures.js';
import { dumpTables, expectOnlyRefusalsAdded } from '../../support/table-dump.js';

const RUNS = { sqlite: 600, postgres: 200 } as const;
/** Refused writes are logged; refused reads are not (authorize.ts). */
const LOGGED = new Set(['create', 'update', 'delete', 'revert']);

/** What the property runs, and whether it must reach the hook (and so fail with ForbiddenError). */
interface Call {
  readonly label: string;
  readonly mustReachHook: boolean;
  readonly run: (p: Persistence) => Promise<unknown>;
}

describeEachDatabase('a hook that refuses everything, under fuzz', (current) => {
  let open: Persistence;
  let batched: Persistence;
  let grouped: Persistence;
  /** Refusals not logged (`recordRefusals: false`): then no table may change at all. */
  let silent: Persistence;
  let asked: AuthorizeRequest[] = [];
  let productIds: number[] = [];
  const settingIds = ['app.company_name', 'app.currency', 'user.1.theme'];

  beforeAll(async () => {
    const { db } = current().opened;
    // Input handling, not durability: no fsync per commit.
    if (current().engine === 'sqlite') await sql`pragma synchronous = off`.execute(db);
    const refuseAll = (request: AuthorizeRequest) => {
      asked.push(request);
      return { refuse: 'Nothing is allowed.' };
    };
    open = createAppPersistence({ db });
    batched = createAppPersistence({ db, authorize: refuseAll });
    grouped = createAppPersistence({ db, authorize: refuseAll, groupCommit: true, batchSaves: false });
    silent = createAppPersistence({ db, authorize: refuseAll, recordRefusals: false });
    // Records with a history, a deleted one, settings: something for every call to aim at.
    for (let i = 0; i < 3; i += 1) {
      const { record } = await open.autoSave('Product', productValues());
      const id = Number(record.id);
      await open.autoSave('Product', { id, quantity: 10 + i });
      productIds.push(id);
    }
    const { record: gone } = await open.autoSave('Product', productValues());
    await open.autoDelete('Product', Number(gone.id));
    productIds = [...productIds, Number(gone.id)];
    for (const id of settingIds) await open.autoSave('Setting', { id, value: '"x"' });
  });

  const productId = () => fc.constantFrom(...productIds);
  const existing = () => fc.constantFrom(...productIds.slice(0, 3));
  const version = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(undefined));
  const productFields = fc.record(
    {
      name: fc.oneof(fc.constantFrom('Desk', 'Chair'), hostileString),
      price: fc.oneof(fc.constantFrom('1.00', '12.5'), anyScalar),
      quantity: fc.oneof(fc.integer({ min: 0, max: 100 }), anyScalar),
      colour: anyScalar,
    },
    { requiredKeys: [] },
  );
  const actor = fc.oneof(
    fc.constantFrom('system', '1', '42', 'seed'),
    fc.record({ actor: fc.constantFrom('7', 'x'), requestId: fc.uuid(), ip: fc.ipV4() }),
  );

  /** One save: an update of an existing record (always asked), a valid create (asked), or anything. */
  const save = (): fc.Arbitrary<Call> =>
    fc.oneof(
      fc.record({ id: existing(), fields: productFields, version }).map(({ id, fields, version: v }) => ({
        label: `update Product ${id} ${JSON.stringify(fields)}`,
        mustReachHook: true,
        run: (p: Persistence) =>
          p.autoSave('Product', { ...fields, id, ...(v === undefined ? {} : { version: v }) }),
      })),
      fc.constant(null).map(() => ({
        label: 'create Product',
        mustReachHook: true,
        run: (p: Persistence) => p.autoSave('Product', productValues()),
      })),
      fc
        .record({ id: fc.constantFrom(...settingIds, 'app.new', 'user.2.theme'), value: anyScalar })
        .map(({ id, value }) => ({
          label: `save Setting ${id}`,
          mustReachHook: true,
          run: (p: Persistence) => p.autoSave('Setting', { id, value }),
        })),
      fc
        .record({
          model: fc.constantFrom('Product', 'Setting', 'User', 'Nope', '__proto__'),
          values: fc.dictionary(hostileString, anyScalar, { maxKeys: 4 }),
        })
        .map(({ model, values }) => ({
          label: `save ${model} ${JSON.stringify(values)}`,
          mustReachHook: false,
          run: (p: Persistence) => p.autoSave(model, values),
        })),
    );

  /** Built once the records exist (their ids are in it). */
  const calls = (): fc.Arbitrary<Call> =>
    fc.oneof(
      { weight: 4, arbitrary: save() },
      {
        weight: 1,
        arbitrary: fc.array(productFields, { minLength: 1, maxLength: 3 }).map((items) => ({
          label: `bulk ${items.length}`,
          mustReachHook: false,
          run: (p: Persistence) => p.autoSaveBulk('Product', items),
        })),
      },
      {
        weight: 1,
        arbitrary: fc.record({ id: productId(), version }).map(({ id, version: v }) => ({
          label: `delete ${id}`,
          mustReachHook: productIds.slice(0, 3).includes(id),
          run: (p: Persistence) => p.autoDelete('Product', id, v === undefined ? {} : { expectedVersion: v }),
        })),
      },
      {
        weight: 1,
        arbitrary: fc.record({ id: productId(), to: fc.integer({ min: 1, max: 3 }) }).map(({ id, to }) => ({
          label: `revert ${id} to ${to}`,
          // Versions 1 and 2 of the live products, and the deleted one's create (reverting to it
          // re-creates it) are reached; its version 2 (its delete) and any version 3 are not found.
          mustReachHook: to === 1 || (to === 2 && id !== productIds[3]),
          run: (p: Persistence) => p.revert('Product', id, to),
        })),
      },
      {
        weight: 2,
        arbitrary: fc.array(save(), { minLength: 2, maxLength: 6 }).map((saves) => ({
          label: `concurrent: ${saves.map((s) => s.label).join('; ')}`,
          mustReachHook: false,
          run: async (p: Persistence) => {
            const outcomes = await Promise.allSettled(saves.map((s) => s.run(p)));
            for (const [i, outcome] of outcomes.entries()) {
              expect(outcome.status, saves[i]?.label).toBe('rejected');
              if (outcome.status === 'rejected' && saves[i]?.mustReachHook)
                expect(outcome.reason, saves[i]?.label).toBeInstanceOf(ForbiddenError);
            }
            throw new ForbiddenError('update', undefined, undefined, 'every save of the batch was refused');
          },
        })),
      },
      {
        weight: 1,
        arbitrary: fc.array(save(), { minLength: 1, maxLength: 3 }).map((saves) => ({
          label: `in one transaction, each refusal caught: ${saves.map((s) => s.label).join('; ')}`,
          mustReachHook: false,
          run: async (p: Persistence) => {
            await p.withTransaction(async () => {
              for (const s of saves) await expect(s.run(p)).rejects.toBeInstanceOf(PersistenceError);
            });
            throw new ForbiddenError('update', undefined, undefined, 'every save was refused');
          },
        })),
      },
      {
        weight: 1,
        arbitrary: fc
          .record(
            {
              model: fc.constantFrom('Product', 'Setting', 'Draft', 'Refusal'),
              objectId: fc.constantFrom('1', 'app.currency'),
              actor: fc.constantFrom('seed', 'system'),
            },
            { requiredKeys: [] },
          )
          .map((query) => ({
            label: `log query ${JSON.stringify(query)}`,
            mustReachHook: true,
            run: (p: Persistence) => p.activityLog.query(query),
          })),
      },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 1, max: 20 }).map((id) => ({
          label: `log entry ${id}`,
          mustReachHook: false,
          run: async (p: Persistence) => {
            const entry = await p.activityLog.entry(id);
            // No entry of that id: nothing to refuse, nothing read.
            if (entry === undefined) throw new ForbiddenError('read-log', undefined, undefined, 'no entry');
            return entry;
          },
        })),
      },
      {
        weight: 1,
        arbitrary: fc
          .record({ id: existing(), base: fc.integer({ min: 0, max: 3 }) })
          .map(({ id, base }) => ({
            label: `record past ${id}@${base}`,
            mustReachHook: true,
            run: (p: Persistence) =>
              base % 2 === 0
                ? p.readWithBase('Product', id, base)
                : p.mergeStale('Product', id, { quantity: 1 }, base),
          })),
      },
    );

  it('no call succeeds, and nothing is written but one refusal entry per refused write (none when refusals are not logged)', async () => {
    const { db } = current().opened;
    let refusedWrites = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        calls(),
        actor,
        fc.constantFrom('batched', 'grouped', 'silent'),
        async (c, who, kind) => {
          const persistence = { batched, grouped, silent }[kind];
          asked = [];
          const before = await dumpTables(db);
          const outcome = await persistence
            .runAs(who, () => c.run(persistence))
            .then(
              (value) => ({ ok: true as const, value }),
              (error: unknown) => ({ ok: false as const, error }),
            );
          await persistence.idle();
          expect(outcome.ok, `${c.label} succeeded`).toBe(false);
          if (!outcome.ok) {
            expect(outcome.error, c.label).toBeInstanceOf(PersistenceError);
            if (c.mustReachHook) expect(outcome.error, c.label).toBeInstanceOf(ForbiddenError);
          }
          const added = expectOnlyRefusalsAdded(before, await dumpTables(db));
          // Each refused write logged exactly once, however it was refused (batch, group, transaction).
          const writes = asked.filter((request) => LOGGED.has(request.action)).length;
          expect(added, c.label).toHaveLength(kind === 'silent' ? 0 : writes);
          refusedWrites += writes;
          refused += asked.length;
        },
      ),
      { numRuns: RUNS[current().engine], seed: 1818 },
    );
    console.info(`refuse-all fuzz [${current().engine}]: ${refused} refusals, ${refusedWrites} of writes`);
    expect(refusedWrites).toBeGreaterThan(0);
    expect((await verifyActivityLog(db, open.registry)).problems).toEqual([]);
  });
});
