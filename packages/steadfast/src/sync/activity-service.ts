/** Querying the ActivityLog from a query string: filters validated, newest first, cursor paged. */

import { type ActivityPage, type ActivityViewer, activityQuerySchema } from '../persistence/activity-log.js';
import type { Persistence } from '../persistence/create-persistence.js';
import { invalidRequest } from './api-error.js';
import { type SignedInUser, userKey } from './signed-in-user.js';
import { DRAFT_MODEL } from './sync-service.js';

/** A user's drafts are theirs alone: other users' Draft entries never reach them through the log. */
export function activityViewer(user: SignedInUser): ActivityViewer {
  return { viewerId: userKey(user), privateModels: [DRAFT_MODEL] };
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
  const parsed = activityQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw invalidRequest(parsed.error, 'query');
  return persistence.activityLog.query(parsed.data, activityViewer(user));
}
