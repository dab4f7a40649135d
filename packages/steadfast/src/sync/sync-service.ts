/**
 * The sync protocol's server side, free of any web framework (the Fastify route and the Express
 * router both call it): per-client ordered, at-most-once application of mutation ids, per-user
 * drafts and states, `stale` detection against the record's version, and an ActivityLog entry
 * (action `sync`) for every applied change, all inside the ambient transaction.
 */
import { type Insertable, type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { ClientMutationsTable, Database, DraftsTable } from '../db/schema.js';
import type { TrackedChange } from '../persistence/change-tracker.js';
import type { Persistence } from '../persistence/create-persistence.js';
import { ForbiddenError } from '../persistence/errors.js';
import { GroupCommitter, type UnitOutcome } from '../persistence/group-commit.js';
import { compareKeys } from '../persistence/lock-order.js';
import type { ModelRegistry } from '../persistence/model-registry.js';
import type { Actor } from '../persistence/transaction-context.js';
import { MAX_STORED_INTEGER } from '../protocol/constants.js';
import type { ChangeResult, SyncChange, SyncRequest, SyncResponse } from '../protocol/sync.js';
import { asValidSyncRequest, syncRequestSchema } from '../protocol/sync.js';
import { ApiError, invalidRequest, MutationGapError } from './api-error.js';
import {
  checkDraftUsage,
  DEFAULT_DRAFT_LIMITS,
  type DraftLimits,
  type DraftUsage,
  draftBytes,
  draftText,
  readDraftUsage,
  SyncQuotas,
} from './draft-limits.js';
import type { SteadfastMetrics } from './metrics.js';
import { type SignedInUser, userKey } from './signed-in-user.js';

/** The record a draft key names, for `stale` detection; null when it names none. */
export interface RecordRef {
  readonly model: string;
  readonly id: string | number;
}
export type RecordForKey = (key: string) => RecordRef | null;

/**
 * The default key mapping: `<model>-<id>` names that record of a registered model, its name
 * lowercased (`invoice-7` → Invoice 7, `product-42` → Product 42). A generated key must be a whole
 * number within the column's range: a larger one names no record (its lookup failed on
 * PostgreSQL with a 500).
 */
export function recordForKeyOfModels(registry: ModelRegistry): RecordForKey {
  return (key) => {
    const dash = key.lastIndexOf('-');
    if (dash <= 0) return null;
    const name = key.slice(0, dash);
    const id = key.slice(dash + 1);
    const definition = registry.all().find((model) => model.name.toLowerCase() === name);
    if (!definition || id === '') return null;
    if (!definition.generatedKey) return { model: definition.name, id };
    if (!/^[1-9][0-9]{0,15}$/.test(id) || Number(id) > MAX_STORED_INTEGER) return null;
    return { model: definition.name, id: Number(id) };
  };
}

export interface RequestMeta {
  readonly requestId?: string;
  readonly ip?: string;
  /** True when `admit` counted this request's body bytes before it was read. */
  readonly bodyCounted?: boolean;
}

/** A client's `client_mutations` row: whose client it is and the last mutation id applied. */
export interface ClientMutationsRow {
  readonly user_id: string;
  readonly last_mutation_id: number;
}

/**
 * Reads a client's committed row without building a query, for the empty batch (which writes
 * nothing). On SQLite the plugin passes a prepared statement on its read-only connection: the empty
 * batch then neither compiles a query nor queues for the writer connection behind an open group
 * commit. Used only outside a transaction, whose own writes such a reader could not see.
 */
export interface ClientLookup {
  read(clientId: string): ClientMutationsRow | undefined;
}

export interface SyncServiceOptions {
  readonly persistence: Persistence;
  /** Applies requests in shared transactions; with `applyTogether`, in shared statements too. */
  readonly committer: GroupCommitter<SyncUnit>;
  readonly clientLookup?: ClientLookup;
  readonly recordForKey?: RecordForKey;
  /** On PostgreSQL the client's row is locked (`for update`) so two processes never apply one id twice. */
  readonly dialect: 'sqlite' | 'postgres';
  readonly now?: () => Date;
  /** Called with each answered change's status (metrics). */
  readonly onResult?: (status: ChangeResult['status']) => void;
  /** The quotas per user (default DEFAULT_DRAFT_LIMITS). */
  readonly limits?: DraftLimits;
}

export interface SyncService {
  /**
   * Before the body is read: throws a LimitExceededError (429) when the user may not send a request
   * of `bodyBytes` (its Content-Length) now, and counts the bytes. Then `sync` with `bodyCounted`.
   */
  admit(user: SignedInUser, bodyBytes: number | undefined): void;
  /** Validates `body`, applies it through the group commit and answers after the commit. */
  sync(user: SignedInUser, body: unknown, meta?: RequestMeta): Promise<SyncResponse>;
}

type NewDraftRow = Insertable<DraftsTable>;

/** Draft model name and object id in the ActivityLog. */
export const DRAFT_MODEL = 'Draft';
export function draftObjectId(userId: string, kind: string, key: string): string {
  return `${userId}:${kind}:${key}`;
}

export function createSyncService(options: SyncServiceOptions): SyncService {
  const recordForKey = options.recordForKey ?? recordForKeyOfModels(options.persistence.registry);
  const now = options.now ?? (() => new Date());
  const limits = options.limits ?? DEFAULT_DRAFT_LIMITS;
  const quotas = new SyncQuotas(limits, options.now && (() => now().getTime()));
  return {
    admit(user, bodyBytes) {
      quotas.admitBody(userKey(user), bodyBytes);
    },
    async sync(user, body, meta = {}) {
      let request = asEmptySyncBatch(body) ?? asValidSyncRequest(body);
      if (!request) {
        const parsed = syncRequestSchema.safeParse(body);
        if (!parsed.success) throw invalidRequest(parsed.error);
        request = parsed.data;
      }
      const batch = request;
      // Before any work: a draft too large, or too much too often, is refused here (413/429).
      quotas.admit(userKey(user), batch.changes, meta.bodyCounted === true);
      const actor = { actor: userKey(user), requestId: meta.requestId, ip: meta.ip };
      // An empty batch writes nothing (it asks for lastMutationId): no transaction, no commit round.
      if (batch.changes.length === 0) {
        const lookup = options.clientLookup;
        if (lookup && !options.persistence.context.inTransaction()) {
          const at = now().toISOString();
          const previous = lastAppliedBy(lookup.read(batch.clientId), user);
          return { status: 'ok', synced: 0, lastMutationId: previous, results: [], serverTime: at };
        }
        return options.persistence.runAs(actor, () =>
          applySyncBatch(options.persistence, recordForKey, user, batch, now(), false, limits),
        );
      }
      const unit: SyncUnit = { user, request: batch, actor, at: now() };
      const response = await options.committer.submit(
        actor,
        () =>
          applySyncBatch(
            options.persistence,
            recordForKey,
            user,
            batch,
            unit.at,
            options.dialect === 'postgres',
            limits,
          ),
        unit,
      );
      for (const result of response.results) options.onResult?.(result.status);
      return response;
    },
  };
}

/** The pattern of zod's `z.uuid()`, which syncRequestSchema checks clientId with. */
const UUID_PATTERN = z.regexes.uuid();

/**
 * The empty batch (`{clientId, changes: []}`: a client asking for its lastMutationId, the most
 * frequent request) recognised without running the schema, which cost it more than the rest of
 * its validation (CPU profile of bench/http-overhead.bench.ts). Returns a request only for input
 * syncRequestSchema accepts, with the same value; anything else, valid or not, is left to it.
 */
export function asEmptySyncBatch(body: unknown): SyncRequest | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { clientId, changes } = body as Record<string, unknown>;
  if (!Array.isArray(changes) || changes.length !== 0 || typeof clientId !== 'string') return undefined;
  if (Object.keys(body).length !== 2 || !Object.hasOwn(body, 'clientId') || !Object.hasOwn(body, 'changes'))
    return undefined;
  return UUID_PATTERN.test(clientId) ? { clientId, changes: [] } : undefined;
}

/** The client's last applied mutation id (0 for a new client); forbidden when it is another user's. */
function lastAppliedBy(client: ClientMutationsRow | undefined, user: SignedInUser): number {
  if (client && String(client.user_id) !== userKey(user)) {
    throw new ApiError('forbidden', 'This clientId belongs to another user.');
  }
  return client ? Number(client.last_mutation_id) : 0;
}

/** Draft data as logged fields: a form's fields as they are, any other value under `value`. */
function asFields(data: unknown): Record<string, unknown> | null {
  if (data === null || data === undefined) return null;
  if (typeof data === 'object' && !Array.isArray(data)) return data as Record<string, unknown>;
  return { value: data };
}

/** One validated request to apply: whose it is, who it is logged as, and the time it is applied at. */
export interface SyncUnit {
  readonly user: SignedInUser;
  readonly request: SyncRequest;
  readonly actor: Actor;
  readonly at: Date;
}

/**
 * Applies one validated batch in the ambient transaction. Throws (and so writes nothing, the
 * caller's savepoint being rolled back) on another user's clientId or a mutation gap.
 */
export async function applySyncBatch(
  persistence: Persistence,
  recordForKey: RecordForKey,
  user: SignedInUser,
  request: SyncRequest,
  at: Date,
  lockRows = false,
  limits?: UserDraftLimits,
): Promise<SyncResponse> {
  const unit = { user, request, at, actor: persistence.context.actor() };
  const [outcome] = await applySyncUnits(persistence, recordForKey, [unit], lockRows, limits);
  if (!outcome) throw new Error('applySyncUnits answered nothing');
  if (outcome.ok) return outcome.value;
  // Thrown, the refusal's work is rolled back: its record must not go with it.
  if (outcome.error instanceof ForbiddenError) await persistence.authorizer.logAfterEnd(outcome.error);
  throw outcome.error;
}

/** A unit's mutations sorted out: what to apply, what was applied before, where it ends. */
interface MutationPlan {
  readonly unit: SyncUnit;
  readonly index: number;
  readonly ordered: readonly SyncChange[];
  readonly toApply: readonly SyncChange[];
  readonly statuses: Map<SyncChange, ChangeResult>;
  readonly last: number;
}

/**
 * A client's row as this group of requests leaves it: `stored` when it is in the database, and
 * `movedAt` (its new updated_at) once a request of the group applied something for it.
 */
interface ClientState {
  readonly userId: string;
  last: number;
  readonly stored: boolean;
  movedAt?: string;
}

/** The quotas on a user's stored drafts, checked in the group commit. */
export type UserDraftLimits = Pick<DraftLimits, 'draftsPerUser' | 'draftBytesPerUser'>;

/**
 * Applies many validated requests in the ambient transaction with shared statements: one read of
 * their clients, one of their drafts, one of the drafts' log heads, then one upsert of the drafts'
 * final states, one insert of every log entry and one write of the clients, whatever the number of
 * requests. Requests are applied in order, each seeing the ones before it (one client's batches,
 * one user's drafts). Answers one outcome per request: one refused (another user's clientId, a
 * mutation gap, a user's drafts over `limits`, a draft the `authorize` hook refuses) writes nothing
 * and the rest go on. Throws when a statement fails; the caller rolls the whole group back and
 * applies each request alone to find the one at fault.
 */
export async function applySyncUnits(
  persistence: Persistence,
  recordForKey: RecordForKey,
  units: readonly SyncUnit[],
  lockRows = false,
  limits?: UserDraftLimits,
): Promise<UnitOutcome<SyncResponse>[]> {
  const db = persistence.context.executor() as Kysely<Database>;
  const clients = await readClients(db, [...new Set(units.map((unit) => unit.request.clientId))], lockRows);
  // Every draft the requests name, read before any is planned: the quotas need the stored sizes
  // to refuse a request before it moves its client. (Replayed changes are read for nothing; rare.)
  // Each change's object id is made once: the steps below look drafts, sizes and log heads up by
  // it, and a string made once is hashed once. By unit, then change: a caller may pass one request
  // for two users.
  const objectIds = new Map<SyncUnit, Map<SyncChange, string>>();
  const named = new Set<string>();
  for (const unit of units) {
    const userId = userKey(unit.user);
    const ids = new Map<SyncChange, string>();
    for (const change of unit.request.changes) {
      const objectId = draftObjectId(userId, change.kind, change.key);
      ids.set(change, objectId);
      named.add(objectId);
    }
    objectIds.set(unit, ids);
  }
  const objectIdOf = (unit: SyncUnit, change: SyncChange) => objectIds.get(unit)?.get(change) as string;
  const stored = await readDrafts(db, units, named);
  const quota = limits && (await draftQuota(db, units, stored, limits, objectIdOf));
  const outcomes: UnitOutcome<SyncResponse>[] = new Array(units.length);
  const plans: MutationPlan[] = [];
  for (const [index, unit] of units.entries()) {
    try {
      const client = clients.get(unit.request.clientId);
      const previous = lastAppliedBy(
        client && { user_id: client.userId, last_mutation_id: client.last },
        unit.user,
      );
      const plan = planMutations(unit, index, previous);
      if (persistence.authorizer.enabled) await authorizeDrafts(persistence, plan);
      quota?.charge(plan);
      if (plan.last !== previous) {
        const movedAt = unit.at.toISOString();
        if (client) Object.assign(client, { last: plan.last, movedAt });
        else
          clients.set(unit.request.clientId, {
            userId: userKey(unit.user),
            last: plan.last,
            stored: false,
            movedAt,
          });
      }
      plans.push(plan);
    } catch (error) {
      outcomes[index] = { ok: false, error };
    }
  }

  // Every touched draft's log head, read once for the whole group: under load the group holds the
  // writer, so its statement count is the endpoint's throughput.
  const touched = new Set<string>();
  for (const plan of plans) for (const change of plan.toApply) touched.add(objectIdOf(plan.unit, change));
  const heads = await readLogHeads(db, [...touched]);

  // Each draft's data as the requests before this one left it (a stored draft is parsed once, the
  // first time it is needed), and its final state in this group, written once at the end.
  const current = new Map<string, unknown>();
  const dataOf = (objectId: string): unknown => {
    if (current.has(objectId)) return current.get(objectId);
    const text = stored.get(objectId);
    return text === undefined ? null : JSON.parse(text);
  };
  const finalDrafts = new Map<string, { userId: string; change: SyncChange; at: string }>();
  const tracked: TrackedChange[] = [];
  for (const plan of plans) {
    const { unit } = plan;
    const userId = userKey(unit.user);
    const nowText = unit.at.toISOString();
    for (const change of plan.toApply) {
      const objectId = objectIdOf(unit, change);
      const check = staleCheckOf(persistence, recordForKey, change);
      const currentVersion = check ? await staleVersion(persistence, check) : undefined;
      const previousData = dataOf(objectId);
      current.set(objectId, change.data);
      finalDrafts.set(objectId, { userId, change, at: nowText });
      const head = heads.get(objectId) ?? { hash: null, version: 0 };
      const version = head.version + 1;
      tracked.push({
        model: DRAFT_MODEL,
        objectId,
        action: 'sync',
        before: asFields(previousData),
        after: asFields(change.data),
        version,
        prevHash: head.hash,
        actor: unit.actor,
      });
      // The tracker chains entries of one record within a batch itself; only the version is ours.
      heads.set(objectId, { hash: null, version });
      plan.statuses.set(
        change,
        currentVersion === undefined
          ? { mutationId: change.mutationId, status: 'applied' }
          : { mutationId: change.mutationId, status: 'stale', currentVersion },
      );
    }
  }

  const upserts: NewDraftRow[] = [];
  const deletes: DraftKey[] = [];
  for (const [objectId, { userId, change, at }] of finalDrafts) {
    if (change.data !== null) {
      upserts.push({
        user_id: userId,
        kind: change.kind,
        key: change.key,
        data: draftText(change),
        base_version: change.baseVersion ?? null,
        saved_at: new Date(change.savedAt).toISOString(),
        updated_at: at,
      });
    } else if (stored.has(objectId)) deletes.push({ user_id: userId, kind: change.kind, key: change.key });
  }
  // Deletes (a draft cleared after its submit: rare) and upserts each in the one lock order, as the
  // persistence manager's batches write theirs, so two PostgreSQL processes never wait on each other.
  for (const draft of deletes.sort(inLockOrder)) {
    await db
      .deleteFrom('steadfast_drafts')
      .where('user_id', '=', draft.user_id)
      .where('kind', '=', draft.kind)
      .where('key', '=', draft.key)
      .execute();
  }
  upserts.sort(inLockOrder);
  await upsertDrafts(db, upserts);
  // Nothing here reads the entries back.
  await persistence.changeTracker.logChanges(tracked);
  await writeClients(db, clients);

  for (const plan of plans) {
    outcomes[plan.index] = {
      ok: true,
      value: {
        status: 'ok',
        synced: plan.toApply.length,
        lastMutationId: plan.last,
        results: plan.ordered.map((change) => plan.statuses.get(change) as ChangeResult),
        serverTime: plan.unit.at.toISOString(),
      },
    };
  }
  return outcomes;
}

/**
 * Asks the `authorize` hook (`sync`, model `Draft`) about each draft a request would write, before
 * anything of it is: the first refusal refuses the whole request, which then writes nothing and
 * moves no client, while the other requests of the group go on. The refusal is logged (when it is
 * to be) if the group commits; a group abandoned runs each request again alone, which meets it
 * again (applySyncBatch).
 */
async function authorizeDrafts(persistence: Persistence, plan: MutationPlan): Promise<void> {
  const { authorizer } = persistence;
  const userId = userKey(plan.unit.user);
  for (const change of plan.toApply) {
    const refused = await authorizer.check({
      actor: plan.unit.actor,
      action: 'sync',
      model: DRAFT_MODEL,
      objectId: draftObjectId(userId, change.kind, change.key),
      record: undefined,
      values: { kind: change.kind, key: change.key, data: change.data },
    });
    if (refused) {
      authorizer.logOnCommit(refused);
      throw refused;
    }
  }
}

/**
 * Sorts a request's changes into mutation order, whatever order it lists them in: ids at or below
 * the last applied one were applied before (a retried batch) and are answered, not applied again;
 * the rest must follow on without a gap.
 */
function planMutations(unit: SyncUnit, index: number, previous: number): MutationPlan {
  const ordered = [...unit.request.changes].sort((a, b) => a.mutationId - b.mutationId);
  let last = previous;
  const toApply: SyncChange[] = [];
  const statuses = new Map<SyncChange, ChangeResult>();
  for (const change of ordered) {
    if (change.mutationId <= last) {
      statuses.set(change, { mutationId: change.mutationId, status: 'duplicate' });
    } else if (change.mutationId === last + 1) {
      toApply.push(change);
      last = change.mutationId;
    } else {
      throw new MutationGapError(last + 1, change.mutationId);
    }
  }
  return { unit, index, ordered, toApply, statuses, last };
}

/** Most values one `in (…)` list carries (SQLite allows 32,766 parameters, PostgreSQL 65,535). */
const IN_LIST_CHUNK = 500;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/**
 * The group's clients as stored. On PostgreSQL their rows are locked (`for update`, in one order so
 * two processes cannot deadlock on them) so two processes never apply one mutation id twice.
 */
async function readClients(
  db: Kysely<Database>,
  clientIds: readonly string[],
  lockRows: boolean,
): Promise<Map<string, ClientState>> {
  const clients = new Map<string, ClientState>();
  for (const ids of chunks(clientIds, IN_LIST_CHUNK)) {
    const select = db
      .selectFrom('steadfast_sync_clients')
      .select(['client_id', 'user_id', 'last_mutation_id'])
      .where('client_id', 'in', ids)
      .orderBy('client_id');
    for (const row of await (lockRows ? select.forUpdate() : select).execute()) {
      clients.set(row.client_id, {
        userId: String(row.user_id),
        last: Number(row.last_mutation_id),
        stored: true,
      });
    }
  }
  return clients;
}

/** The stored data of the drafts named by `objectIds`, by object id. */
async function readDrafts(
  db: Kysely<Database>,
  units: readonly SyncUnit[],
  objectIds: ReadonlySet<string>,
): Promise<Map<string, string>> {
  const drafts = new Map<string, string>();
  if (objectIds.size === 0) return drafts;
  const userIds = [...new Set(units.map((unit) => userKey(unit.user)))];
  const keys = [...new Set(units.flatMap((unit) => unit.request.changes.map((change) => change.key)))];
  for (const someKeys of chunks(keys, IN_LIST_CHUNK)) {
    const rows = await db
      .selectFrom('steadfast_drafts')
      .select(['user_id', 'kind', 'key', 'data'])
      .where('user_id', 'in', userIds)
      .where('key', 'in', someKeys)
      .execute();
    for (const row of rows) {
      // Users × keys may name drafts no request touched; only the touched ones count.
      const objectId = draftObjectId(String(row.user_id), row.kind, row.key);
      if (objectIds.has(objectId)) drafts.set(objectId, row.data);
    }
  }
  return drafts;
}

/**
 * The users' stored drafts as this group of requests leaves them, to refuse a request that would
 * take its user past `draftsPerUser` or `draftBytesPerUser` before it writes anything. Only users
 * with a request that could grow their drafts (a new draft, or a larger one than stored) are
 * counted, in one query; the rest cannot pass a limit they were within.
 */
async function draftQuota(
  db: Kysely<Database>,
  units: readonly SyncUnit[],
  stored: ReadonlyMap<string, string>,
  limits: UserDraftLimits,
  objectIdOf: (unit: SyncUnit, change: SyncChange) => string,
): Promise<{ charge(plan: MutationPlan): void }> {
  const sizes = new Map<string, number | undefined>();
  const sizeOf = (objectId: string): number | undefined => {
    if (sizes.has(objectId)) return sizes.get(objectId);
    const text = stored.get(objectId);
    const size = text === undefined ? undefined : Buffer.byteLength(text);
    sizes.set(objectId, size);
    return size;
  };
  const growing = new Set<string>();
  for (const unit of units) {
    const userId = userKey(unit.user);
    if (growing.has(userId)) continue;
    for (const change of unit.request.changes) {
      if (change.data === null) continue;
      const size = sizeOf(objectIdOf(unit, change));
      if (size === undefined || draftBytes(change) > size) {
        growing.add(userId);
        break;
      }
    }
  }
  const usage = await readDraftUsage(db, [...growing]);
  return {
    charge(plan) {
      const userId = userKey(plan.unit.user);
      const used = usage.get(userId);
      if (!used) return;
      const after = new Map<string, number | undefined>();
      const delta: DraftUsage = { drafts: 0, bytes: 0 };
      for (const change of plan.toApply) {
        const objectId = objectIdOf(plan.unit, change);
        const before = after.has(objectId) ? after.get(objectId) : sizeOf(objectId);
        const size = change.data === null ? undefined : draftBytes(change);
        delta.drafts += (size === undefined ? 0 : 1) - (before === undefined ? 0 : 1);
        delta.bytes += (size ?? 0) - (before ?? 0);
        after.set(objectId, size);
      }
      checkDraftUsage(used, delta, limits);
      used.drafts += delta.drafts;
      used.bytes += delta.bytes;
      for (const [objectId, size] of after) sizes.set(objectId, size);
    },
  };
}

/** A draft's primary key. */
interface DraftKey {
  readonly user_id: string;
  readonly kind: string;
  readonly key: string;
}

/** The one order drafts are locked in: user, kind, key. */
function inLockOrder(a: DraftKey, b: DraftKey): number {
  return compareKeys(a.user_id, b.user_id) || compareKeys(a.kind, b.kind) || compareKeys(a.key, b.key);
}

/** Most rows one drafts or clients insert carries (7 and 4 parameters a row). */
const ROWS_PER_INSERT = 1000;

async function upsertDrafts(db: Kysely<Database>, rows: readonly NewDraftRow[]): Promise<void> {
  for (const some of chunks(rows, ROWS_PER_INSERT)) {
    await db
      .insertInto('steadfast_drafts')
      .values(some)
      .onConflict((oc) =>
        oc.columns(['user_id', 'kind', 'key']).doUpdateSet((eb) => ({
          data: eb.ref('excluded.data'),
          base_version: eb.ref('excluded.base_version'),
          saved_at: eb.ref('excluded.saved_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}

/**
 * Writes the clients this group moved: stored ones updated, new ones inserted. A new client that
 * another process registered meanwhile is a conflict (its ids may have been applied there).
 */
async function writeClients(db: Kysely<Database>, clients: ReadonlyMap<string, ClientState>): Promise<void> {
  const stored: Array<Insertable<ClientMutationsTable>> = [];
  const added: Array<Insertable<ClientMutationsTable>> = [];
  for (const [clientId, client] of clients) {
    if (client.movedAt === undefined) continue;
    const row = {
      client_id: clientId,
      user_id: client.userId,
      last_mutation_id: client.last,
      updated_at: client.movedAt,
    };
    (client.stored ? stored : added).push(row);
  }
  for (const rows of chunks(stored, ROWS_PER_INSERT)) {
    await db
      .insertInto('steadfast_sync_clients')
      .values(rows)
      .onConflict((oc) =>
        oc.column('client_id').doUpdateSet((eb) => ({
          last_mutation_id: eb.ref('excluded.last_mutation_id'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
  for (const rows of chunks(added, ROWS_PER_INSERT)) {
    const inserted = await db
      .insertInto('steadfast_sync_clients')
      .values(rows)
      .onConflict((oc) => oc.column('client_id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== rows.length) {
      throw new ApiError('conflict', 'Another request synced this client at the same time; retry.');
    }
  }
}

/** Most object ids one head query names (each is a term of a compound select; SQLite allows 500). */
const HEADS_PER_QUERY = 100;

/**
 * The newest log entry of each draft. One `max(id)` subquery per object, joined by UNION ALL: with
 * an equality on (model, object_id) each is a single index probe, whereas `max(id) … group by
 * object_id` reads every entry of every object, and a draft's log grows with each autosave.
 */
async function readLogHeads(
  db: Kysely<Database>,
  objectIds: readonly string[],
): Promise<Map<string, { hash: string | null; version: number }>> {
  const heads = new Map<string, { hash: string | null; version: number }>();
  for (const some of chunks(objectIds, HEADS_PER_QUERY)) {
    // Written as SQL rather than through the query builder: building ten subqueries and their union
    // took about 7% of the endpoint's CPU in a profile of bench/sync-throughput.bench.ts.
    const latest = sql.join(
      some.map(
        (objectId) =>
          sql`select max(id) from steadfast_activity_log where model = ${DRAFT_MODEL} and object_id = ${objectId}`,
      ),
      sql` union all `,
    );
    const { rows } = await sql<{
      object_id: string;
      hash: string;
      version: number;
    }>`select object_id, hash, version
      from steadfast_activity_log where id in (${latest})`.execute(db);
    for (const row of rows) heads.set(row.object_id, { hash: row.hash, version: Number(row.version) });
  }
  return heads;
}

/**
 * The record a change's draft must be checked against for staleness, with the version the draft
 * started from; null when there is none (checked without a query, for most changes).
 */
function staleCheckOf(
  persistence: Persistence,
  recordForKey: RecordForKey,
  change: SyncChange,
): { readonly ref: RecordRef; readonly baseVersion: number } | null {
  const { baseVersion } = change;
  if (change.data === null || baseVersion === null || baseVersion === undefined) return null;
  const ref = recordForKey(change.key);
  return ref && persistence.registry.has(ref.model) ? { ref, baseVersion } : null;
}

/** The record's version when it moved past the draft's baseVersion; undefined when not stale. */
async function staleVersion(
  persistence: Persistence,
  { ref, baseVersion }: { readonly ref: RecordRef; readonly baseVersion: number },
): Promise<number | undefined> {
  const definition = persistence.registry.get(ref.model);
  const row = (await persistence.context
    .executor()
    .selectFrom(definition.table)
    .select('version')
    .where(definition.primaryKey, '=', ref.id)
    .executeTakeFirst()) as { version: unknown } | undefined;
  if (!row) return undefined;
  const version = Number(row.version);
  return version > baseVersion ? version : undefined;
}

/**
 * The sync service with its group committer, both reporting to `metrics`: what the Fastify plugin
 * and the Express router each set up.
 */
export function createMeteredSyncService(options: {
  readonly persistence: Persistence;
  readonly dialect: 'sqlite' | 'postgres';
  readonly metrics: SteadfastMetrics;
  readonly recordForKey?: RecordForKey;
  readonly maxBatch?: number;
  readonly clientLookup?: ClientLookup;
  readonly limits?: DraftLimits;
}): { committer: GroupCommitter<SyncUnit>; syncService: SyncService } {
  const { metrics } = options;
  const recordForKey = options.recordForKey ?? recordForKeyOfModels(options.persistence.registry);
  const lockRows = options.dialect === 'postgres';
  const committer = new GroupCommitter<SyncUnit>({
    context: options.persistence.context,
    maxBatch: options.maxBatch,
    onBatch: (size, outcome, applied) => {
      metrics.groupCommitSize.observe(size);
      metrics.groupCommits.inc({ outcome, applied });
    },
    applyTogether: (units) =>
      applySyncUnits(
        options.persistence,
        recordForKey,
        units.map((unit) => unit.payload),
        lockRows,
        options.limits ?? DEFAULT_DRAFT_LIMITS,
      ),
  });
  const syncService = createSyncService({
    persistence: options.persistence,
    committer,
    dialect: options.dialect,
    recordForKey,
    clientLookup: options.clientLookup,
    limits: options.limits,
    onResult: (status) => metrics.syncChanges.inc({ status }),
  });
  return { committer, syncService };
}
