/**
 * Who sees what of the log. A reader sees their own entries in full; of other people's, no IP
 * address and no request id (unless `canSeeDetails` says so), and none at all of their private
 * records (a user's drafts, an app's per-user preferences). Private records are filtered in SQL,
 * so a page is never short of entries for it, and a reader cannot learn they exist.
 */
import { type ExpressionBuilder, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ActivityEntry } from './activity-entry.js';

/**
 * Records only their owner sees: those of `model` whose object id starts with `objectId`'s text
 * before `{userId}`, owned by the user whose id follows there, then the text after it.
 *
 * @example { model: 'Draft', objectId: '{userId}:' }          // every draft: `7:form:product-42`
 * @example { model: 'Setting', objectId: 'user.{userId}.' }  // `user.7.theme`, not `app.currency`
 */
export interface PrivateRecords {
  readonly model: string;
  readonly objectId: string;
}

/** The reader of a log query. */
export interface ActivityViewer {
  /** The reader's user id, as the log names actors. */
  readonly viewerId: string;
  /** Models whose every record is private to the user its object id starts with (`<userId>:`). */
  readonly privateModels?: readonly string[];
  /** Records private to one user (see PrivateRecords). */
  readonly privateRecords?: readonly PrivateRecords[];
  /**
   * Whether the reader sees the IP address and request id of an entry someone else made. Default:
   * never. The reader's own entries always show them.
   */
  readonly canSeeDetails?: (entry: ActivityEntry) => boolean;
}

export const USER_ID_PLACEHOLDER = '{userId}';

/** A PrivateRecords pattern is usable: `{userId}` once, followed by at least one character. */
export function isPrivateRecordsPattern(objectId: string): boolean {
  const at = objectId.indexOf(USER_ID_PLACEHOLDER);
  return (
    at >= 0 &&
    objectId.indexOf(USER_ID_PLACEHOLDER, at + 1) < 0 &&
    at + USER_ID_PLACEHOLDER.length < objectId.length
  );
}

const codePoints = (text: string) => [...text].length;

function rulesOf(viewer: ActivityViewer): PrivateRecords[] {
  return [
    ...(viewer.privateModels ?? []).map((model) => ({ model, objectId: `${USER_ID_PLACEHOLDER}:` })),
    ...(viewer.privateRecords ?? []),
  ];
}

/**
 * The condition that leaves out other users' private records, for a `where`; undefined when the
 * viewer has none. Prefixes are compared with `substr`, the same on both engines, and exact (LIKE
 * would read `_` and `%` in an id as wildcards, and SQLite's ignores case).
 */
export function visibleRows(viewer: ActivityViewer | undefined) {
  const rules = viewer ? rulesOf(viewer) : [];
  if (!viewer || rules.length === 0) return undefined;
  return (eb: ExpressionBuilder<Database, 'steadfast_activity_log'>) =>
    eb.and(
      rules.map((rule) => {
        const at = rule.objectId.indexOf(USER_ID_PLACEHOLDER);
        const namespace = at >= 0 ? rule.objectId.slice(0, at) : rule.objectId;
        const own = at >= 0 ? rule.objectId.replace(USER_ID_PLACEHOLDER, viewer.viewerId) : rule.objectId;
        const startsWith = (prefix: string) =>
          eb(sql<string>`substr(object_id, 1, ${sql.lit(codePoints(prefix))})`, '=', prefix);
        const someonesPrivate = [eb('model', '=', rule.model)];
        if (namespace !== '') someonesPrivate.push(startsWith(namespace));
        return eb.not(eb.and([...someonesPrivate, eb.not(startsWith(own))]));
      }),
    );
}

/** The entry as `viewer` may see it: another person's without IP and request id, unless allowed. */
export function withDetailsFor(viewer: ActivityViewer | undefined, entry: ActivityEntry): ActivityEntry {
  if (!viewer || entry.actor === viewer.viewerId) return entry;
  if (entry.ip === null && entry.requestId === null) return entry;
  if (viewer.canSeeDetails?.(entry)) return entry;
  return { ...entry, ip: null, requestId: null };
}
