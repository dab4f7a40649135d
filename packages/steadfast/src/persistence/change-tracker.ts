/**
 * Turns a change to a record into ActivityLog entries: field-level diff, redaction of secret
 * fields, the actor from the context, and the per-record hash chain. Entries are written with
 * the ambient executor, i.e. in the same transaction as the change they describe.
 */
import { ReusableInsert } from '../db/reusable-insert.js';
import type { NewActivityLogRow } from '../db/schema.js';
import {
  type ActivityAction,
  type ActivityEntry,
  type FieldChanges,
  type HashedContent,
  hashEntry,
} from './activity-entry.js';
import type { Clock } from './clock.js';
import { REDACTED } from './model-registry.js';
import type { Actor, TransactionContext } from './transaction-context.js';

export interface TrackedChange {
  readonly model: string;
  readonly objectId: string;
  readonly action: ActivityAction;
  /** Tracked fields before the change; null for a create. */
  readonly before: Readonly<Record<string, unknown>> | null;
  /** Tracked fields after the change; null for a delete. */
  readonly after: Readonly<Record<string, unknown>> | null;
  /** The record's version after the change. */
  readonly version: number;
  /** Fields logged as `"[changed]"`. */
  readonly secretFields?: readonly string[];
  /**
   * Hash of the record's newest entry, when the caller already read it (saves one query);
   * `null` for a record with no entries yet; omitted to have it looked up.
   */
  readonly prevHash?: string | null;
  /** Who made the change, when not the context's actor (saves of several users batched together). */
  readonly actor?: Actor;
}

/** Field-level changes between two states; fields equal on both sides are left out. */
export function diffFields(
  before: Readonly<Record<string, unknown>> | null,
  after: Readonly<Record<string, unknown>> | null,
  secretFields: readonly string[] = [],
): FieldChanges {
  // Each side's own keys walked once, without a Set of both (nor a closure a call): a group of
  // sync requests diffs hundreds of small drafts.
  const changes: FieldChanges = {};
  if (before)
    for (const field of Object.keys(before)) noteChange(changes, field, before, after, secretFields);
  if (after)
    for (const field of Object.keys(after))
      if (!before || !Object.prototype.propertyIsEnumerable.call(before, field))
        noteChange(changes, field, before, after, secretFields);
  return changes;
}

/** Adds `field` to `changes` when it differs between the two states. */
function noteChange(
  changes: FieldChanges,
  field: string,
  before: Readonly<Record<string, unknown>> | null,
  after: Readonly<Record<string, unknown>> | null,
  secretFields: readonly string[],
): void {
  const old = before ? normalise(before[field]) : null;
  const next = after ? normalise(after[field]) : null;
  if (sameValue(old, next)) return;
  changes[field] = secretFields.includes(field) ? [REDACTED, REDACTED] : [old, next];
}

export function redact(
  state: Readonly<Record<string, unknown>> | null,
  secretFields: readonly string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!state) return out;
  for (const field of Object.keys(state)) {
    out[field] = secretFields.includes(field) ? REDACTED : normalise(state[field]);
  }
  return out;
}

/** Values as they read back from either engine: Dates as ISO text, bigints as numbers. */
export function normalise(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/**
 * Whether two field values are the same value: equal, or objects of equal JSON whatever the order
 * of their keys (PostgreSQL's jsonb stores keys in an order of its own, so an object reads back
 * reordered; an array's order counts).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON text with each object's keys in sorted order. */
function canonicalJson(value: object): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    const record = inner as Record<string, unknown>;
    // fromEntries defines each key as the object's own, `__proto__` included.
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, record[key]]),
    );
  });
}

/** The columns of a new entry, in the order trackChanges fills them. */
export const ENTRY_COLUMNS = [
  'prev_hash',
  'created_at',
  'actor',
  'action',
  'model',
  'object_id',
  'changes',
  'snapshot',
  'request_id',
  'ip',
  'version',
  'hash',
] as const satisfies ReadonlyArray<keyof NewActivityLogRow>;

/** Log rows ready to insert, in the order of their changes. */
export interface PreparedEntries {
  readonly rows: readonly NewActivityLogRow[];
  /** The entries as callers see them, given the ids the database assigned the rows, in order. */
  complete(ids: readonly unknown[]): ActivityEntry[];
}

export class ChangeTracker {
  /**
   * A group of sync requests logs hundreds of entries at once: compiled once per chunk size, and in
   * chunks of at most 512 (12 parameters each, under SQLite's 32,766).
   */
  readonly #insertEntries = new ReusableInsert<'steadfast_activity_log', NewActivityLogRow>(
    'steadfast_activity_log',
    ENTRY_COLUMNS,
  );

  constructor(
    private readonly context: TransactionContext,
    private readonly clock: Clock,
  ) {}

  /**
   * Logs one change in the ambient transaction (or on its own when there is none).
   *
   * @example await tracker.trackChange({ model: 'Product', objectId: '42', action: 'update',
   *   before: { price: '10.00' }, after: { price: '12.00' }, version: 4 })
   */
  async trackChange(change: TrackedChange): Promise<ActivityEntry> {
    const [entry] = await this.trackChanges([change]);
    if (!entry) throw new Error('trackChanges returned no entry');
    return entry;
  }

  /** Logs many changes in one multi-row insert: bulk updates leave the same trail as single ones. */
  async trackChanges(changes: readonly TrackedChange[]): Promise<ActivityEntry[]> {
    if (changes.length === 0) return [];
    const prepared = await this.prepareEntries(changes);
    // Only the ids come back: the rest of each entry is what was just written.
    const inserted = await this.#insertEntries.execute(this.context.executor(), prepared.rows);
    return prepared.complete(inserted.map((row) => row.id));
  }

  /**
   * Logs many changes like `trackChanges`, for a caller that reads none of the entries back (a
   * sync's group commit): inserted without asking their ids, which cost SQLite about a fifth of
   * each row's insert.
   */
  async logChanges(changes: readonly TrackedChange[]): Promise<void> {
    if (changes.length === 0) return;
    const prepared = await this.prepareEntries(changes);
    await this.#insertEntries.run(this.context.executor(), prepared.rows);
  }

  /**
   * The log rows of `changes`, diffed, redacted, attributed and hashed into their chains, for a
   * caller that writes them itself (in the same statement as the change they describe), and how
   * they become ActivityEntries once the database has given them ids.
   */
  async prepareEntries(changes: readonly TrackedChange[]): Promise<PreparedEntries> {
    const contextActor = this.context.actor();
    const createdAt = this.clock.now().toISOString();
    // Chains are per record; a record changed twice in one batch chains to its own earlier entry.
    const heads = new Map<string, string | null>();
    const rows: NewActivityLogRow[] = [];
    const parsed: Array<{ changes: FieldChanges; snapshot: Record<string, unknown> }> = [];
    for (const change of changes) {
      const chainKey = `${change.model}\u0000${change.objectId}`;
      let prevHash = heads.get(chainKey);
      if (prevHash === undefined) prevHash = change.prevHash;
      if (prevHash === undefined) prevHash = await this.headHash(change.model, change.objectId);
      const changesOfEntry = diffFields(change.before, change.after, change.secretFields);
      const snapshot = redact(change.after ?? change.before, change.secretFields);
      parsed.push({ changes: changesOfEntry, snapshot });
      const { actor, requestId, ip } = change.actor ?? contextActor;
      // The row itself is hashed (hashEntry reads only the hashed fields) and its hash set after:
      // no second object spread from the first, hundreds of times a group commit.
      const row: HashedContent & { hash: string } = {
        prev_hash: prevHash,
        created_at: createdAt,
        actor,
        action: change.action,
        model: change.model,
        object_id: change.objectId,
        changes: JSON.stringify(changesOfEntry),
        snapshot: JSON.stringify(snapshot),
        request_id: requestId ?? null,
        ip: ip ?? null,
        version: change.version,
        hash: '',
      };
      row.hash = hashEntry(row);
      heads.set(chainKey, row.hash);
      rows.push(row);
    }
    const complete = (ids: readonly unknown[]): ActivityEntry[] =>
      rows.map((row, index) => ({
        id: Number(ids[index]),
        time: row.created_at,
        actor: row.actor,
        action: row.action as ActivityAction,
        model: row.model,
        objectId: row.object_id,
        changes: parsed[index]?.changes ?? {},
        snapshot: parsed[index]?.snapshot ?? {},
        requestId: row.request_id ?? null,
        ip: row.ip ?? null,
        version: row.version,
        checkpoint: false,
      }));
    return { rows, complete };
  }

  /** Hash of the record's newest entry, or null when it has none. */
  async headHash(model: string, objectId: string): Promise<string | null> {
    const row = await this.context
      .executor()
      .selectFrom('steadfast_activity_log')
      .select('hash')
      .where('model', '=', model)
      .where('object_id', '=', objectId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return (row?.hash as string | undefined) ?? null;
  }
}
