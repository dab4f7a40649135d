/**
 * Reading the ActivityLog as a signed-in user: filters validated, newest first, cursor paged,
 * bounded in bytes, and only what that user may see (activity-visibility.ts): their own entries in
 * full; others' without IP and request id, unless `canSeeDetails` allows; nobody else's private
 * records (drafts always, and the app's `privateRecords`).
 */
import type { ActivityBounds } from '../persistence/activity-bounds.js';
import type { ActivityEntry } from '../persistence/activity-entry.js';
import { type ActivityPage, type ActivityViewer, activityQuerySchema } from '../persistence/activity-log.js';
import type { PrivateRecords } from '../persistence/activity-visibility.js';
import type { Persistence } from '../persistence/create-persistence.js';
import { ApiError, InvalidRequestError, invalidRequest } from './api-error.js';
import { asUser, type SignedInUser, userKey } from './signed-in-user.js';
import { DRAFT_MODEL } from './sync-service.js';

/** Decides what of the log a user sees beyond the default (the options' `activity`). */
export interface ActivityVisibility {
  /** Records only their owner sees, beside drafts: e.g. `{ model: 'Setting', objectId: 'user.{userId}.' }`. */
  readonly privateRecords?: readonly PrivateRecords[];
  /**
   * Whether `viewer` sees the IP address and request id of `entry`, made by someone else (an
   * administrator, say). Default: never.
   */
  readonly canSeeDetails?: (viewer: SignedInUser, entry: ActivityEntry) => boolean;
  /**
   * Whether `viewer` sees the IP address and request id of every entry (an administrator, say):
   * asked once per request, before the log is read, and may be async (a role looked up in the
   * app's database), where `canSeeDetails` is asked per entry and must answer at once.
   * Default: nobody.
   */
  readonly seesAllDetails?: (viewer: SignedInUser) => boolean | Promise<boolean>;
}

/**
 * The reader `user` as the log's queries take it: other users' drafts (and `privateRecords`) stay
 * out; others' IP addresses and request ids are hidden unless `canSeeDetails` allows.
 */
export function activityViewer(user: SignedInUser, visibility: ActivityVisibility = {}): ActivityViewer {
  const { canSeeDetails, privateRecords } = visibility;
  return {
    viewerId: userKey(user),
    privateModels: [DRAFT_MODEL],
    ...(privateRecords ? { privateRecords } : {}),
    ...(canSeeDetails ? { canSeeDetails: (entry: ActivityEntry) => canSeeDetails(user, entry) } : {}),
  };
}

export interface ActivityService {
  /**
   * The reader `user`, for the app's own log pages: the same visibility as the API's, except
   * `seesAllDetails` (asynchronous, asked by `query` and `entry`).
   */
  viewer(user: SignedInUser): ActivityViewer;
  /** A page of the log from a query string (400 naming a bad filter). */
  query(user: SignedInUser, query: unknown): Promise<ActivityPage>;
  /** One entry in full (404 when there is none the user may see). */
  entry(user: SignedInUser, id: unknown): Promise<ActivityEntry>;
}

export function createActivityService(
  persistence: Persistence,
  settings: { readonly visibility?: ActivityVisibility; readonly bounds?: ActivityBounds } = {},
): ActivityService {
  const visibility = settings.visibility ?? {};
  const viewer = (user: SignedInUser) => activityViewer(user, visibility);
  /** The viewer for one request: `seesAllDetails` asked once, then every entry in full if it says so. */
  const requestViewer = async (user: SignedInUser): Promise<ActivityViewer> => {
    const base = viewer(user);
    if (!visibility.seesAllDetails || (await visibility.seesAllDetails(user)) !== true) return base;
    return { ...base, canSeeDetails: () => true };
  };
  return {
    viewer,
    async query(user, query) {
      const parsed = activityQuerySchema.safeParse(query ?? {});
      if (!parsed.success) throw invalidRequest(parsed.error, 'query');
      const reader = await requestViewer(user);
      return asUser(persistence, user, () =>
        persistence.activityLog.query(parsed.data, reader, settings.bounds),
      );
    },
    async entry(user, id) {
      const text = typeof id === 'number' ? String(id) : id;
      if (typeof text !== 'string' || !/^[1-9][0-9]{0,15}$/.test(text)) {
        throw new InvalidRequestError('id: must be a log entry id (a positive whole number)', 'id');
      }
      const reader = await requestViewer(user);
      const entry = await asUser(persistence, user, () =>
        persistence.activityLog.entry(Number(text), reader),
      );
      if (!entry) throw new ApiError('not_found', `There is no log entry ${text} you can see.`);
      return entry;
    },
  };
}

/**
 * @example await queryActivity(persistence, { model: 'Product', limit: '20' }, request.user)
 */
export async function queryActivity(
  persistence: Persistence,
  query: unknown,
  /** The reader (required, so no route can forget it): other users' drafts stay out of the answer. */
  user: SignedInUser,
): Promise<ActivityPage> {
  return createActivityService(persistence).query(user, query);
}
