/**
 * The sync service's quotas per user, each checked before anything is written: the body bytes a
 * user may send a minute (before the body is read), the size and key count of one draft and the
 * changes a minute (on the parsed request, before it reaches the group commit), and the number and
 * total size of a user's stored drafts (in the group commit, against the drafts as stored, before
 * the request's first write). The per-minute ones are token buckets: a steady rate, with a burst
 * of a sixth of a minute's allowance.
 * The defaults are far above what a form-heavy app sends; they bound what one account can make
 * the server do for everyone else.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SyncChange } from '../protocol/sync.js';
import { LimitExceededError } from './api-error.js';
import { TokenBucket } from './token-bucket.js';

export interface DraftLimits {
  /** Largest draft or state, in bytes of its JSON. */
  readonly draftBytes: number;
  /** Most object keys in one draft or state, counted at every depth. */
  readonly draftKeys: number;
  /** Most drafts and states one user keeps on the server. */
  readonly draftsPerUser: number;
  /** Most bytes of drafts and states one user keeps on the server. */
  readonly draftBytesPerUser: number;
  /** Most changes one user sends a minute. */
  readonly changesPerMinute: number;
  /** Most bytes of sync request bodies one user sends a minute (Content-Length, before reading). */
  readonly syncBytesPerMinute: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_DRAFT_LIMITS: DraftLimits = {
  draftBytes: 256 * 1024,
  draftKeys: 2000,
  draftsPerUser: 500,
  draftBytesPerUser: 8 * MiB,
  changesPerMinute: 1200,
  syncBytesPerMinute: 8 * MiB,
};

interface Measured {
  readonly text: string;
  readonly bytes: number;
}

/** Each change's JSON text and its size, computed once: measured by the quotas, written by the upsert. */
const measured = new WeakMap<SyncChange, Measured>();

function measure(change: SyncChange): Measured {
  let known = measured.get(change);
  if (!known) {
    const text = JSON.stringify(change.data);
    known = { text, bytes: Buffer.byteLength(text) };
    measured.set(change, known);
  }
  return known;
}

/** The JSON text a change stores (`null` for a deletion). */
export function draftText(change: SyncChange): string {
  return measure(change).text;
}

/** The bytes a change stores: its JSON's UTF-8 length, 0 for a deletion. */
export function draftBytes(change: SyncChange): number {
  return change.data === null ? 0 : measure(change).bytes;
}

/** Object keys in `value` at every depth, counting stopped once past `max` (the body is already bounded). */
export function countKeys(value: unknown, max: number): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && count <= max) {
    const next = pending.pop();
    if (next === null || typeof next !== 'object') continue;
    if (Array.isArray(next)) {
      for (const item of next) pending.push(item);
      continue;
    }
    for (const key in next) {
      count += 1;
      pending.push((next as Record<string, unknown>)[key]);
    }
  }
  return count;
}

const formatNumber = (n: number) => n.toLocaleString('en-US');

/**
 * The per-request quotas of each user: before the body is read (`admitBody`: the body bytes a
 * minute, and whether any change may be sent now), and on the parsed request (`admit`: each
 * draft's size and keys, the changes a minute). A request refused here takes nothing of the
 * changes' allowance; its bytes, once received, are counted.
 */
export class SyncQuotas {
  readonly #limits: DraftLimits;
  readonly #changes: TokenBucket;
  readonly #bytes: TokenBucket;

  constructor(limits: DraftLimits, now?: () => number) {
    this.#limits = limits;
    this.#changes = new TokenBucket(limits.changesPerMinute, now);
    this.#bytes = new TokenBucket(limits.syncBytesPerMinute, now);
  }

  get limits(): DraftLimits {
    return this.#limits;
  }

  /**
   * Before the body is read: refuses (429) a user whose changes allowance is spent, or whose body
   * bytes a minute cannot take `bodyBytes` more (the request's Content-Length), and counts them.
   * An abusive account's refused requests then cost neither parsing nor validation.
   */
  admitBody(userId: string, bodyBytes: number | undefined): void {
    const key = `u:${userId}`;
    const changesWait = this.#changes.wait(key, 1);
    if (changesWait > 0) throw this.#tooManyChanges(changesWait);
    if (bodyBytes === undefined || bodyBytes <= 0) return;
    const bytesWait = this.#bytes.take(key, bodyBytes);
    if (bytesWait > 0) throw this.#tooManyBytes(bytesWait);
  }

  /**
   * On the parsed request: throws a LimitExceededError when a draft is too large or has too many
   * keys (413), or when the user has sent too many changes this minute (429, with the seconds to
   * wait); and, for a request whose body was not counted by `admitBody` (no Content-Length, or a
   * caller of the service itself), too many bytes (counted as its drafts' JSON).
   */
  admit(userId: string, changes: readonly SyncChange[], bodyCounted = false): void {
    if (changes.length === 0) return;
    const limits = this.#limits;
    let bytes = 0;
    for (const change of changes) {
      if (change.data === null) continue;
      const size = draftBytes(change);
      if (size > limits.draftBytes) {
        throw new LimitExceededError(
          'payload_too_large',
          'draftBytes',
          limits.draftBytes,
          `The draft "${change.key}" is ${formatNumber(size)} bytes; at most ${formatNumber(limits.draftBytes)} are accepted (limits.draftBytes).`,
          undefined,
          { key: change.key },
        );
      }
      if (typeof change.data === 'object' && countKeys(change.data, limits.draftKeys) > limits.draftKeys) {
        throw new LimitExceededError(
          'payload_too_large',
          'draftKeys',
          limits.draftKeys,
          `The draft "${change.key}" has more than ${formatNumber(limits.draftKeys)} keys (limits.draftKeys).`,
          undefined,
          { key: change.key },
        );
      }
      bytes += size;
    }
    const key = `u:${userId}`;
    const changesWait = this.#changes.wait(key, changes.length);
    if (changesWait > 0) throw this.#tooManyChanges(changesWait);
    if (!bodyCounted && bytes > 0) {
      const bytesWait = this.#bytes.take(key, bytes);
      if (bytesWait > 0) throw this.#tooManyBytes(bytesWait);
    }
    this.#changes.take(key, changes.length);
  }

  #tooManyChanges(wait: number): LimitExceededError {
    const max = this.#limits.changesPerMinute;
    return new LimitExceededError(
      'rate_limited',
      'changesPerMinute',
      max,
      `Too many changes: at most ${formatNumber(max)} a minute (limits.changesPerMinute); retry in ${wait} seconds.`,
      wait,
    );
  }

  #tooManyBytes(wait: number): LimitExceededError {
    const max = this.#limits.syncBytesPerMinute;
    return new LimitExceededError(
      'rate_limited',
      'syncBytesPerMinute',
      max,
      `Too much data: at most ${formatNumber(max)} bytes a minute (limits.syncBytesPerMinute); retry in ${wait} seconds.`,
      wait,
    );
  }
}

/** A user's stored drafts: how many, and their bytes. */
export interface DraftUsage {
  drafts: number;
  bytes: number;
}

/**
 * The stored drafts of each user, counted in the database (`octet_length` reads neither SQLite's
 * overflow pages nor PostgreSQL's toasted values: the cost is one index range per user, whatever
 * the drafts hold).
 */
export async function readDraftUsage(
  db: Kysely<Database>,
  userIds: readonly string[],
): Promise<Map<string, DraftUsage>> {
  const usage = new Map<string, DraftUsage>();
  for (const userId of userIds) usage.set(userId, { drafts: 0, bytes: 0 });
  if (userIds.length === 0) return usage;
  const rows = await db
    .selectFrom('steadfast_drafts')
    .select([
      'user_id',
      sql<number | string>`count(*)`.as('drafts'),
      sql<number | string | null>`sum(octet_length(data))`.as('bytes'),
    ])
    .where('user_id', 'in', [...userIds])
    .groupBy('user_id')
    .execute();
  for (const row of rows)
    usage.set(String(row.user_id), { drafts: Number(row.drafts), bytes: Number(row.bytes ?? 0) });
  return usage;
}

/**
 * Refuses (throws) when the changes would take a user past `draftsPerUser` or `draftBytesPerUser`.
 * Only growth is refused: a request that keeps or lowers the count and the bytes always passes, so
 * a user over a lowered limit can still clear drafts. `delta` is what the request changes.
 */
export function checkDraftUsage(
  usage: DraftUsage,
  delta: DraftUsage,
  limits: Pick<DraftLimits, 'draftsPerUser' | 'draftBytesPerUser'>,
): void {
  if (delta.drafts > 0 && usage.drafts + delta.drafts > limits.draftsPerUser) {
    throw new LimitExceededError(
      'quota_exceeded',
      'draftsPerUser',
      limits.draftsPerUser,
      `You have ${formatNumber(usage.drafts)} drafts on the server; at most ${formatNumber(limits.draftsPerUser)} are kept per user (limits.draftsPerUser). Submit or discard some first.`,
    );
  }
  if (delta.bytes > 0 && usage.bytes + delta.bytes > limits.draftBytesPerUser) {
    throw new LimitExceededError(
      'quota_exceeded',
      'draftBytesPerUser',
      limits.draftBytesPerUser,
      `Your drafts on the server would take ${formatNumber(usage.bytes + delta.bytes)} bytes; at most ${formatNumber(limits.draftBytesPerUser)} are kept per user (limits.draftBytesPerUser). Submit or discard some first.`,
    );
  }
}
