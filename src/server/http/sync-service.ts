/**
 * The sync protocol's server side, free of any web framework (the Fastify route and the Express
 * router both call it): per-client ordered, at-most-once application of mutation ids, per-user
 * drafts and states, `stale` detection against the record's version, and an ActivityLog entry
 * (action `sync`) for every applied change, all inside the ambient transaction.
 */
import type { Kysely } from 'kysely';
import type { ChangeResult, SyncChange, SyncRequest, SyncResponse } from '../../protocol/sync.js';
import { syncRequestSchema } from '../../protocol/sync.js';
import type { Database } from '../db/schema.js';
import type { TrackedChange } from '../persistence/change-tracker.js';
import type { Persistence } from '../persistence/create-persistence.js';
import { ApiError, MutationGapError } from './api-error.js';
import { invalidRequest } from './error-handler.js';
import type { GroupCommitter } from '../persistence/group-commit.js';
import type { SessionUser } from './session-user.js';

/** The record a draft key names, for `stale` detection; null when it names none. */
export interface RecordRef {
  readonly model: string;
  readonly id: string | number;
}
export type RecordForKey = (key: string) => RecordRef | null;

/** `product-42` → Product 42: the business app's form ids. */
export const defaultRecordForKey: RecordForKey = (key) => {
  const match = /^product-([1-9][0-9]{0,15})$/.exec(key);
  return match?.[1] ? { model: 'Product', id: Number(match[1]) } : null;
};

export interface RequestMeta {
  readonly requestId?: string;
  readonly ip?: string;
}

export interface SyncServiceOptions {
  readonly persistence: Persistence;
  readonly committer: GroupCommitter;
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
      const parsed = syncRequestSchema.safeParse(body);
      if (!parsed.success) throw invalidRequest(parsed.error);
      const actor = { actor: String(user.id), requestId: meta.requestId, ip: meta.ip };
      // An empty batch writes nothing (it asks for lastMutationId): no transaction, no commit round.
      if (parsed.data.changes.length === 0) {
        return options.persistence.runAs(actor, () =>
          applySyncBatch(options.persistence, recordForKey, user, parsed.data, now()),
        );
      }
      const response = await options.committer.submit(actor, () =>
        applySyncBatch(
          options.persistence,
          recordForKey,
          user,
          parsed.data,
          now(),
          options.dialect === 'postgres',
        ),
      );
      for (const result of response.results) options.onResult?.(result.status);
      return response;
    },
  };
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
    | { user_id: number; last_mutation_id: number }
    | undefined;
  if (client && Number(client.user_id) !== user.id) {
    throw new ApiError('forbidden', 'This clientId belongs to another user.');
  }
  const previous = client ? Number(client.last_mutation_id) : 0;

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
  if (toApply.length > 0) {
    const keys = [...new Set(toApply.map((c) => c.key))];
    const rows = await db
      .selectFrom('drafts')
      .select(['kind', 'key', 'data'])
      .where('user_id', '=', user.id)
      .where('key', 'in', keys)
      .execute();
    for (const row of rows) drafts.set(draftObjectId(user.id, row.kind, row.key), row.data);
    const objectIds = [...new Set(toApply.map((c) => draftObjectId(user.id, c.kind, c.key)))];
    const headRows = (await db
      .selectFrom('activity_log')
      .select(['object_id', 'hash', 'version'])
      .where('model', '=', DRAFT_MODEL)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('activity_log')
          .select((e) => e.fn.max('id').as('id'))
          .where('model', '=', DRAFT_MODEL)
          .where('object_id', 'in', objectIds)
          .groupBy('object_id'),
      )
      .execute()) as Array<{ object_id: string; hash: string; version: number }>;
    for (const row of headRows) heads.set(row.object_id, { hash: row.hash, version: Number(row.version) });
  }
  for (const change of toApply) {
    const objectId = draftObjectId(user.id, change.kind, change.key);
    const currentVersion = await staleVersion(persistence, recordForKey, change);
    const previousData = drafts.get(objectId) ?? null;
    drafts.set(objectId, change.data === null ? null : JSON.stringify(change.data));
    if (change.data === null) {
      if (previousData !== null) {
        await db
          .deleteFrom('drafts')
          .where('user_id', '=', user.id)
          .where('kind', '=', change.kind)
          .where('key', '=', change.key)
          .execute();
      }
    } else {
      const row = {
        user_id: user.id,
        kind: change.kind,
        key: change.key,
        data: JSON.stringify(change.data),
        base_version: change.baseVersion ?? null,
        saved_at: new Date(change.savedAt).toISOString(),
        updated_at: nowText,
      };
      await db
        .insertInto('drafts')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['user_id', 'kind', 'key']).doUpdateSet({
            data: row.data,
            base_version: row.base_version,
            saved_at: row.saved_at,
            updated_at: row.updated_at,
          }),
        )
        .execute();
    }
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
