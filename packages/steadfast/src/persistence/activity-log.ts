/**
 * Reading the ActivityLog: filtered by model, object, actor, action and time range, newest first,
 * with cursor paging (keyset on id, so page N costs the same as page 1 however long the log is).
 */
import { z } from 'zod';
import type { ActivityLogRow } from '../db/schema.js';
import { MAX_STORED_INTEGER } from '../protocol/constants.js';
import { isStorableText } from '../protocol/storable-text.js';
import type { FieldValues } from '../protocol/three-way-merge.js';
import {
  type ActivityBounds,
  boundEntry,
  boundedColumns,
  cutPair,
  DEFAULT_ACTIVITY_BOUNDS,
  listedBytes,
  parseObjectPrefix,
  readPrefixChars,
} from './activity-bounds.js';
import { ACTIVITY_ACTIONS, type ActivityEntry, toActivityEntry } from './activity-entry.js';
import { type ActivityViewer, visibleRows, withDetailsFor } from './activity-visibility.js';
import type { Authorizer } from './authorize.js';
import { ValidationError } from './errors.js';
import { type ModelRegistry, REDACTED } from './model-registry.js';
import type { TransactionContext } from './transaction-context.js';

export const MAX_PAGE_SIZE = 200;

/** A text filter: only text a database can hold (PostgreSQL fails a query carrying NUL, a 500). */
const textFilter = (max: number) =>
  z.string().min(1).max(max).refine(isStorableText, 'must not contain a NUL character or broken Unicode');

export const activityQuerySchema = z.strictObject({
  model: textFilter(100).optional(),
  objectId: textFilter(200).optional(),
  actor: textFilter(200).optional(),
  action: z.enum([...ACTIVITY_ACTIONS]).optional(),
  /** Inclusive lower bound, ISO-8601. */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Exclusive upper bound, ISO-8601. */
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  /** The `nextCursor` of the previous page. */
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'not a cursor this API gave out')
    .optional(),
});
export type ActivityQuery = z.input<typeof activityQuerySchema>;

export interface ActivityPage {
  readonly entries: readonly ActivityEntry[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

export type { ActivityViewer } from './activity-visibility.js';

/**
 * A record's tracked fields at one version, rebuilt from the log (`recordAt`):
 * - `found`: its fields as saved at that version, secret fields left out;
 * - `deleted`: that version is the record's deletion (the entry holds its last state);
 * - `pruned`: the version is older than the record's checkpoint, so `activity prune` removed it;
 * - `unknown`: the record never had that version (or never existed).
 */
export type RecordAtVersion =
  | {
      readonly status: 'found';
      readonly version: number;
      /** JSON values, as the snapshot holds them: the base `mergeThreeWay` takes. */
      readonly values: FieldValues;
      readonly entry: ActivityEntry;
    }
  | { readonly status: 'deleted'; readonly version: number; readonly entry: ActivityEntry }
  | { readonly status: 'pruned'; readonly version: number; readonly checkpoint: ActivityEntry }
  | { readonly status: 'unknown'; readonly version: number };

export interface RecordAtOptions {
  /**
   * Fields to leave out of the values. Default: the model's secret fields, from the registry the
   * log was given (`createPersistence` gives it its own). For a model it does not know (or a log
   * made without a registry), every field the snapshot holds as `"[changed]"` is left out, the
   * mark of a redacted field.
   */
  readonly secretFields?: readonly string[];
}

/** A row of a list query: its text maybe cut short, so parsed leniently unless read whole. */
function toListedEntry(row: Omit<ActivityLogRow, 'hash' | 'prev_hash'>, readWhole: boolean): ActivityEntry {
  if (readWhole) return toActivityEntry(row as ActivityLogRow);
  return {
    ...toActivityEntry({ ...row, changes: '{}', snapshot: '{}' } as ActivityLogRow),
    changes: parseObjectPrefix(row.changes, cutPair) as ActivityEntry['changes'],
    snapshot: parseObjectPrefix(row.snapshot),
  };
}

export class ActivityLog {
  constructor(
    private readonly context: TransactionContext,
    /** The models, so `recordAt` knows their secret fields without being told. */
    private readonly registry?: ModelRegistry,
    /**
     * Asked (`read-log`, as the context's actor) before `query` and `entry` answer. The server's
     * own reads (`entryAtVersion`, `recordAt`, `entriesAfter`) are not asked: their callers are.
     */
    private readonly authorizer?: Authorizer,
  ) {}

  /**
   * Entries matching every given filter, newest first, as `viewer` may see them (activity-visibility.ts).
   * Bounded in bytes as well as rows (activity-bounds.ts): an entry too large for a list comes
   * shortened, with `truncated` set (the whole of it: `entry(id)`), and a page ends early rather
   * than pass `bounds.pageBytes`.
   *
   * @example const { entries, nextCursor } = await activityLog.query({ model: 'Product', objectId: '42', limit: 20 })
   */
  async query(
    query: ActivityQuery = {},
    viewer?: ActivityViewer,
    bounds: ActivityBounds = DEFAULT_ACTIVITY_BOUNDS,
  ): Promise<ActivityPage> {
    const parsed = activityQuerySchema.safeParse(query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join('.');
      throw new ValidationError(`${field || 'query'}: ${issue?.message ?? 'invalid'}`, field);
    }
    const q = parsed.data;
    // Without a hook nothing is asked, not even an await.
    if (this.authorizer?.enabled) await this.#mayRead(this.authorizer, q.model, q.objectId);
    const limit = q.limit ?? 50;
    const prefixChars = readPrefixChars(bounds);
    let select = this.context
      .executor()
      .selectFrom('steadfast_activity_log')
      .select([
        'id',
        'created_at',
        'actor',
        'action',
        'model',
        'object_id',
        'request_id',
        'ip',
        'version',
        'checkpoint',
        ...boundedColumns(prefixChars),
      ]);
    if (q.model !== undefined) select = select.where('model', '=', q.model);
    if (q.objectId !== undefined) select = select.where('object_id', '=', q.objectId);
    if (q.actor !== undefined) select = select.where('actor', '=', q.actor);
    if (q.action !== undefined) select = select.where('action', '=', q.action);
    if (q.from !== undefined) select = select.where('created_at', '>=', new Date(q.from).toISOString());
    if (q.to !== undefined) select = select.where('created_at', '<', new Date(q.to).toISOString());
    if (q.cursor !== undefined) select = select.where('id', '<', Number(q.cursor));
    const visible = visibleRows(viewer);
    if (visible) select = select.where(visible);
    const rows = await select
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const page: ActivityEntry[] = [];
    let pageBytes = 0;
    for (const row of rows.slice(0, limit)) {
      const storedBytes = Number(row.stored_bytes);
      const readWhole = row.changes.length < prefixChars && row.snapshot.length < prefixChars;
      const entry = boundEntry(
        withDetailsFor(viewer, toListedEntry(row, readWhole)),
        storedBytes,
        readWhole,
        bounds.entryBytes,
      );
      const size = listedBytes(entry);
      if (page.length > 0 && pageBytes + size > bounds.pageBytes) break;
      page.push(entry);
      pageBytes += size;
    }
    const last = page.at(-1);
    const more = rows.length > page.length;
    return { entries: page, nextCursor: more && last ? String(last.id) : null };
  }

  /**
   * One entry in full (no bounds), as `viewer` may see it: undefined when there is none or it is
   * another user's private record.
   *
   * @example const entry = await activityLog.entry(123, activityViewer(user))
   */
  async entry(id: number, viewer?: ActivityViewer): Promise<ActivityEntry | undefined> {
    if (!Number.isSafeInteger(id) || id < 1 || id > MAX_STORED_INTEGER) return undefined;
    let select = this.context
      .executor()
      .selectFrom('steadfast_activity_log')
      .selectAll()
      .where('id', '=', id);
    const visible = visibleRows(viewer);
    if (visible) select = select.where(visible);
    const row = (await select.executeTakeFirst()) as ActivityLogRow | undefined;
    if (!row) return undefined;
    if (this.authorizer?.enabled) await this.#mayRead(this.authorizer, row.model, row.object_id);
    return withDetailsFor(viewer, toActivityEntry(row));
  }

  /** Asks the `authorize` hook whether the actor may read the log of `model` / `objectId` (throws ForbiddenError). */
  #mayRead(authorizer: Authorizer, model: string | undefined, objectId: string | undefined): Promise<void> {
    return authorizer.require({
      actor: this.context.actor(),
      action: 'read-log',
      model,
      objectId,
      record: undefined,
      values: undefined,
    });
  }

  /** The entry that recorded `version` of a record, if the log still holds it. */
  async entryAtVersion(model: string, objectId: string, version: number): Promise<ActivityEntry | undefined> {
    // Out of the column's range: PostgreSQL would fail the comparison instead of finding nothing.
    if (!Number.isSafeInteger(version) || version > MAX_STORED_INTEGER) return undefined;
    const row = (await this.context
      .executor()
      .selectFrom('steadfast_activity_log')
      .selectAll()
      .where('model', '=', model)
      .where('object_id', '=', objectId)
      .where('version', '=', version)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst()) as ActivityLogRow | undefined;
    return row ? toActivityEntry(row) : undefined;
  }

  /**
   * The record's tracked fields as they were at `version`, rebuilt from the entry that saved it
   * (each entry's snapshot is the record's full state after it). Secret fields are left out of
   * `values`, not given as their redacted mark; the `entry` is as logged (a secret only as its mark),
   * for the server's own use.
   *
   * @example
   * const base = await activityLog.recordAt('Product', '42', draft.baseVersion)
   * if (base.status === 'found') mergeThreeWay(base.values, draft.data, current)
   */
  async recordAt(
    model: string,
    objectId: string,
    version: number,
    options: RecordAtOptions = {},
  ): Promise<RecordAtVersion> {
    const entry = await this.entryAtVersion(model, objectId, version);
    if (entry?.action === 'delete') return { status: 'deleted', version, entry };
    if (entry) {
      const secretFields = options.secretFields ?? this.#secretFieldsOf(model);
      // The snapshot was parsed from JSON text: its values are JSON values.
      const values = Object.fromEntries(
        Object.entries(entry.snapshot).filter(([field, value]) =>
          secretFields ? !secretFields.includes(field) : value !== REDACTED,
        ),
      ) as FieldValues;
      return { status: 'found', version, values, entry };
    }
    if (!Number.isSafeInteger(version) || version > MAX_STORED_INTEGER) return { status: 'unknown', version };
    // Pruning keeps one entry per record, the checkpoint, as the oldest: anything before it is gone.
    const oldest = (await this.context
      .executor()
      .selectFrom('steadfast_activity_log')
      .selectAll()
      .where('model', '=', model)
      .where('object_id', '=', objectId)
      .orderBy('id', 'asc')
      .limit(1)
      .executeTakeFirst()) as ActivityLogRow | undefined;
    const checkpoint = oldest && toActivityEntry(oldest);
    return checkpoint?.checkpoint && version >= 1 && version < checkpoint.version
      ? { status: 'pruned', version, checkpoint }
      : { status: 'unknown', version };
  }

  /**
   * The entries of a record after `version`, oldest first, up to `upTo` when given: who changed what
   * since a form was loaded. Only what the log still holds (pruning removes the oldest entries).
   *
   * @example const since = await activityLog.entriesAfter('Product', '42', draft.baseVersion)
   */
  async entriesAfter(
    model: string,
    objectId: string,
    version: number,
    upTo?: number,
  ): Promise<ActivityEntry[]> {
    if (!Number.isSafeInteger(version) || version > MAX_STORED_INTEGER) return [];
    let select = this.context
      .executor()
      .selectFrom('steadfast_activity_log')
      .selectAll()
      .where('model', '=', model)
      .where('object_id', '=', objectId)
      .where('version', '>', version);
    if (upTo !== undefined && Number.isSafeInteger(upTo) && upTo <= MAX_STORED_INTEGER)
      select = select.where('version', '<=', upTo);
    const rows = (await select.orderBy('id', 'asc').execute()) as ActivityLogRow[];
    return rows.map(toActivityEntry);
  }

  #secretFieldsOf(model: string): readonly string[] | undefined {
    return this.registry?.has(model) ? (this.registry.get(model).secretFields ?? []) : undefined;
  }
}
