/** Querying the ActivityLog from a query string: filters validated, newest first, cursor paged. */
import { type ActivityPage, activityQuerySchema } from '../persistence/activity-log.js';
import type { Persistence } from '../persistence/create-persistence.js';
import { invalidRequest } from './error-handler.js';

/**
 * @example await queryActivity(persistence, { model: 'Product', limit: '20' })
 */
export async function queryActivity(persistence: Persistence, query: unknown): Promise<ActivityPage> {
  const parsed = activityQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw invalidRequest(parsed.error, 'query');
  return persistence.activityLog.query(parsed.data);
}
