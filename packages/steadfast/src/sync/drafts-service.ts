/**
 * Reading a user's drafts and states (for restore on another device). Framework-free: both
 * adapters call it. A user only ever reads their own rows: the user id is part of every query.
 */

import type { Persistence } from '../persistence/create-persistence.js';
import { type Draft, type DraftsResponse, draftsQuerySchema } from '../protocol/sync.js';
import { ApiError, invalidRequest } from './api-error.js';
import { type SignedInUser, userKey } from './signed-in-user.js';

/**
 * @example await listDrafts(persistence, user, { key: 'product-42' }) // { drafts: [...] }
 */
export async function listDrafts(
  persistence: Persistence,
  user: SignedInUser,
  query: unknown,
): Promise<DraftsResponse> {
  const parsed = draftsQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw invalidRequest(parsed.error, 'query');
  let select = persistence.context
    .executor()
    .selectFrom('steadfast_drafts')
    .select(['key', 'kind', 'data', 'base_version', 'saved_at', 'updated_at'])
    .where('user_id', '=', userKey(user));
  if (parsed.data.key !== undefined) select = select.where('key', '=', parsed.data.key);
  const rows = await select.orderBy('updated_at', 'desc').orderBy('key').execute();
  if (parsed.data.key !== undefined && rows.length === 0) {
    throw new ApiError('not_found', `You have no draft with key "${parsed.data.key}".`);
  }
  const drafts = rows.map(
    (row): Draft => ({
      key: row.key,
      kind: row.kind as Draft['kind'],
      data: JSON.parse(row.data) as Draft['data'],
      baseVersion: row.base_version === null ? null : Number(row.base_version),
      savedAt: row.saved_at,
      updatedAt: row.updated_at,
    }),
  );
  return { drafts };
}
