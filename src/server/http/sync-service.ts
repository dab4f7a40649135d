/**
 * The sync protocol's server side, free of any web framework (the Fastify route and the Express
 * router both call it): per-client ordered, at-most-once application of mutation ids, per-user
 * drafts and states, `stale` detection against the record's version, and an ActivityLog entry
 * (action `sync`) for every applied change, all inside the ambient transaction.
 */
import { type Insertable, type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { MAX_STORED_INTEGER } from '../../protocol/constants.js';
import type { ChangeResult, SyncChange, SyncRequest, SyncResponse } from '../../protocol/sync.js';
import { syncRequestSchema } from '../../protocol/sync.js';
import type { Database, DraftsTable } from '../db/schema.js';
import type { TrackedChange } from '../persistence/change-tracker.js';
import type { Persistence } from '../persistence/create-persistence.js';
import { GroupCommitter } from '../persistence/group-commit.js';
import { ApiError, MutationGapError } from './api-error.js';
import { invalidRequest } from './error-handler.js';
import type { SteadfastMetrics } from './metrics.js';
import type { SessionUser } from './session-user.js';

/** The record a draft key names, for `stale` detection; null when it names none. */
export interface RecordRef {
  readonly model: string;
  readonly id: string | number;
}
export type RecordForKey = (key: string) => RecordRef | null;

/**
 * `product-42` → Product 42: the business app's form ids. A larger number names no product (the
 * staleness lookup by it failed on PostgreSQL with a 500).
 */
export const defaultRecordForKey: RecordForKey = (key) => {
  const match = /^product-([1-9][0-9]{0,15})$/.exec(key);
  const id = Number(match?.[1]);
  return match && id <= MAX_STORED_INTEGER ? { model: 'Product', id } : null;
};

export interface RequestMeta {
  readonly requestId?: string;
  readonly ip?: string;
}

/** A client's `client_mutations` row: whose client it is and the last mutation id applied. */
export interface ClientMutationsRow {
  readonly user_id: number;
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
  readonly committer: GroupCommitter;
  readonly clientLookup?: ClientLookup;
  readonly recordForKey?: RecordForKey;
  /** On PostgreSQL the client's row is locked (`for update`) so two processes never apply one id twice. */
  readonly dialect: 'sqlite' | 'postgres';
  readonly now?: () => Date;
  /** Called with each answered change's status (metrics). */
  readonly onResult?: (status: ChangeResult['status']) => void;
}

export interface SyncService {
  /** Validates `body`, applies it through the group commit and answers after the commit. */
  sync(user: SessionUser, body: unknown, meta?: RequestMeta): Promise<SyncResponse>;
}

type NewDraftRow = Insertable<DraftsTable>;

/** Draft model name and object id in the ActivityLog. */
export const DRAFT_MODEL = 'Draft';
export function draftObjectId(userId: number, kind: string, key: string): string {
  return `${userId}:${kind}:${key}`;
}

export function createSyncService(options: SyncServiceOptions): SyncService {
  const recordForKey = options.recordForKey ?? defaultRecordForKey;
  const now = options.now ?? (() => new Date());
  return {
    async sync(user, body, meta = {}) {
      let request = asEmptySyncBatch(body);
      if (!request) {
        const parsed = syncRequestSchema.safeParse(body);
        if (!parsed.success) throw invalidRequest(parsed.error);
        request = parsed.data;
      }
      const batch = request;
      const actor = { actor: String(user.id), requestId: meta.requestId, ip: meta.ip };
      // An empty batch writes nothing (it asks for lastMutationId): no transaction, no commit round.
      if (batch.changes.length === 0) {
        const lookup = options.clientLookup;
        if (lookup && !options.persistence.context.inTransaction()) {
          const at = now().toISOString();
          const previous = lastAppliedBy(lookup.read(batch.clientId), user);
          return { status: 'ok', synced: 0, lastMutationId: previous, results: [], serverTime: at };
        }
        return options.persistence.runAs(actor, () =>
          applySyncBatch(options.persistence, recordForKey, user, batch, now()),
        );
      }
      const response = await options.committer.submit(actor, () =>
        applySyncBatch(options.persistence, recordForKey, user, batch, now(), options.dialect === 'postgres'),
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
function lastAppliedBy(client: ClientMutationsRow | undefined, user: SessionUser): number {
  if (client && Number(client.user_id) !== user.id) {
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

/**
 * Applies one validated batch in the ambient transaction. Throws (and so writes nothing, the
 * caller's savepoint being rolled back) on another user's clientId or a mutation gap.
 */
export async function applySyncBatch(
  persistence: Persistence,
  recordForKey: RecordForKey,
  user: SessionUser,
  request: SyncRequest,
  at: Date,
  lockRows = false,
): Promise<SyncResponse> {
  const db = persistence.executor() as Kysely<Database>;
  const nowText = at.toISOString();
  const select = db
    .selectFrom('client_mutations')
    .select(['user_id', 'last_mutation_id'])
    .where('client_id', '=', request.clientId);
  const client = (await (lockRows ? select.forUpdate() : select).executeTakeFirst()) as
    | ClientMutationsRow
    | undefined;
  const previous = lastAppliedBy(client, user);

  // Apply in mutation order whatever order the batch lists them in; ids at or below the last
  // applied one were applied before (a retried batch) and are answered, not applied again.
  const ordered = [...request.changes].sort((a, b) => a.mutationId - b.mutationId);
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

  const tracked: TrackedChange[] = [];
  // Read every touched draft and every log head in two queries, not two per change: under load
  // the batch holds the writer, so its query count is the endpoint's throughput.
  const drafts = new Map<string, string | null>();
  const heads = new Map<string, { hash: string | null; version: number }>();
  const storedDraftIds = new Set<string>();
  if (toApply.length > 0) {
    const keys = [...new Set(toApply.map((c) => c.key))];
    const rows = await db
      .selectFrom('drafts')
      .select(['kind', 'key', 'data'])
      .where('user_id', '=', user.id)
      .where('key', 'in', keys)
      .execute();
    for (const row of rows) {
      const objectId = draftObjectId(user.id, row.kind, row.key);
      drafts.set(objectId, row.data);
      storedDraftIds.add(objectId);
    }
    const objectIds = [...new Set(toApply.map((c) => draftObjectId(user.id, c.kind, c.key)))];
    const headRows = await readLogHeads(db, objectIds);
    for (const row of headRows) heads.set(row.object_id, { hash: row.hash, version: Number(row.version) });
  }
  // Each draft's final state in this batch: written once at the end, in one statement for all
  // upserts, rather than a statement per change (the batch holds the writer while it runs).
  const finalDrafts = new Map<string, { change: SyncChange; row: NewDraftRow | null }>();
  for (const change of toApply) {
    const objectId = draftObjectId(user.id, change.kind, change.key);
    const currentVersion = await staleVersion(persistence, recordForKey, change);
    const previousData = drafts.get(objectId) ?? null;
    const data = change.data === null ? null : JSON.stringify(change.data);
    drafts.set(objectId, data);
    finalDrafts.set(objectId, {
      change,
      row:
        data === null
          ? null
          : {
              user_id: user.id,
              kind: change.kind,
              key: change.key,
              data,
              base_version: change.baseVersion ?? null,
              saved_at: new Date(change.savedAt).toISOString(),
              updated_at: nowText,
            },
    });
    const head = heads.get(objectId) ?? { hash: null, version: 0 };
    const version = head.version + 1;
    tracked.push({
      model: DRAFT_MODEL,
      objectId,
      action: 'sync',
      before: previousData === null ? null : asFields(JSON.parse(previousData)),
      after: asFields(change.data),
      version,
      prevHash: head.hash,
    });
    // The tracker chains entries of one record within a batch itself; only the version is ours.
    heads.set(objectId, { hash: null, version });
    statuses.set(
      change,
      currentVersion === undefined
        ? { mutationId: change.mutationId, status: 'applied' }
        : { mutationId: change.mutationId, status: 'stale', currentVersion },
    );
  }
  const upserts: NewDraftRow[] = [];
  for (const [objectId, { change, row }] of finalDrafts) {
    if (row) upserts.push(row);
    else if (storedDraftIds.has(objectId)) {
      await db
        .deleteFrom('drafts')
        .where('user_id', '=', user.id)
        .where('kind', '=', change.kind)
        .where('key', '=', change.key)
        .execute();
    }
  }
  if (upserts.length > 0) {
    await db
      .insertInto('drafts')
      .values(upserts)
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
  await persistence.changeTracker.trackChanges(tracked);

  if (last !== previous) {
    if (client) {
      await db
        .updateTable('client_mutations')
        .set({ last_mutation_id: last, updated_at: nowText })
        .where('client_id', '=', request.clientId)
        .execute();
    } else {
      const inserted = await db
        .insertInto('client_mutations')
        .values({
          client_id: request.clientId,
          user_id: user.id,
          last_mutation_id: last,
          updated_at: nowText,
        })
        .onConflict((oc) => oc.column('client_id').doNothing())
        .executeTakeFirst();
      // Another process registered this client meanwhile: this batch's ids may be applied there.
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) {
        throw new ApiError('conflict', 'Another request synced this client at the same time; retry.');
      }
    }
  }

  const results = ordered.map((change) => statuses.get(change) as ChangeResult);
  return {
    status: 'ok',
    synced: toApply.length,
    lastMutationId: last,
    results,
    serverTime: nowText,
  };
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
): Promise<Array<{ object_id: string; hash: string; version: number }>> {
  const heads: Array<{ object_id: string; hash: string; version: number }> = [];
  for (let start = 0; start < objectIds.length; start += HEADS_PER_QUERY) {
    // Written as SQL rather than through the query builder: building ten subqueries and their union
    // took about 7% of the endpoint's CPU in a profile of bench/sync-throughput.bench.ts.
    const latest = sql.join(
      objectIds
        .slice(start, start + HEADS_PER_QUERY)
        .map(
          (objectId) =>
            sql`select max(id) from activity_log where model = ${DRAFT_MODEL} and object_id = ${objectId}`,
        ),
      sql` union all `,
    );
    const { rows } = await sql<{
      object_id: string;
      hash: string;
      version: number;
    }>`select object_id, hash, version
      from activity_log where id in (${latest})`.execute(db);
    for (const row of rows)
      heads.push({ object_id: row.object_id, hash: row.hash, version: Number(row.version) });
  }
  return heads;
}

/** The record's version when it moved past the draft's baseVersion; undefined when not stale. */
async function staleVersion(
  persistence: Persistence,
  recordForKey: RecordForKey,
  change: SyncChange,
): Promise<number | undefined> {
  if (change.data === null || change.baseVersion === null || change.baseVersion === undefined)
    return undefined;
  const ref = recordForKey(change.key);
  if (!ref || !persistence.registry.has(ref.model)) return undefined;
  const definition = persistence.registry.get(ref.model);
  const row = (await persistence
    .executor()
    .selectFrom(definition.table)
    .select('version')
    .where(definition.primaryKey, '=', ref.id)
    .executeTakeFirst()) as { version: unknown } | undefined;
  if (!row) return undefined;
  const version = Number(row.version);
  return version > change.baseVersion ? version : undefined;
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
}): { committer: GroupCommitter; syncService: SyncService } {
  const { metrics } = options;
  const committer = new GroupCommitter({
    context: options.persistence.context,
    maxBatch: options.maxBatch,
    onBatch: (size, outcome) => {
      metrics.groupCommitSize.observe(size);
      metrics.groupCommits.inc({ outcome });
    },
  });
  const syncService = createSyncService({
    persistence: options.persistence,
    committer,
    dialect: options.dialect,
    recordForKey: options.recordForKey,
    clientLookup: options.clientLookup,
    onResult: (status) => metrics.syncChanges.inc({ status }),
  });
  return { committer, syncService };
}
