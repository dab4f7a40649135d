/**
 * The base of a stale draft, for the browser service's three-way merge: the record a draft key
 * names, as it was at the draft's `baseVersion` (rebuilt from the log) and as it is now.
 * Framework-free: both adapters call it.
 *
 * Access: a signed-in user (the routes require one), a key that names an existing record of a
 * registered model, and for Steadfast's own User model only the user's own record. Secret fields
 * never leave the server: the persistence layer leaves them out of both versions.
 */

import type { Persistence } from '../persistence/create-persistence.js';
import { NotFoundError } from '../persistence/errors.js';
import { userModel } from '../persistence/user-model.js';
import { type BaseResponse, baseQuerySchema } from '../protocol/sync.js';
import type { FieldValues } from '../protocol/three-way-merge.js';
import { ApiError, invalidRequest } from './api-error.js';
import { asUser, type SignedInUser, userKey } from './signed-in-user.js';
import type { RecordForKey } from './sync-service.js';

type WireFields = Extract<BaseResponse, { status: 'found' }>['base'];
/** The same JSON values; the wire type's lists are merely not marked readonly. */
const onWire = (values: FieldValues): WireFields => values as WireFields;

/**
 * @example await readDraftBase(persistence, recordForKey, user, { key: 'product-42', version: '3' })
 */
export async function readDraftBase(
  persistence: Persistence,
  recordForKey: RecordForKey,
  user: SignedInUser,
  query: unknown,
): Promise<BaseResponse> {
  const parsed = baseQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw invalidRequest(parsed.error, 'query');
  const { key, version } = parsed.data;
  const ref = recordForKey(key);
  if (!ref || !persistence.registry.has(ref.model)) {
    throw new ApiError('not_found', `The key "${key}" names no record.`);
  }
  if (ref.model === userModel.name && String(ref.id) !== userKey(user)) {
    throw new ApiError('forbidden', 'Only your own user record can be read.');
  }
  let record: Awaited<ReturnType<Persistence['readWithBase']>>;
  try {
    record = await asUser(persistence, user, () => persistence.readWithBase(ref.model, ref.id, version));
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new ApiError('not_found', `The record named by "${key}" does not exist.`);
    }
    throw error;
  }
  const common = {
    key,
    version,
    current: onWire({ ...record.current, version: record.currentVersion }),
    changedBy: record.changedBy,
  };
  if (record.baseStatus === 'found' && record.base) {
    return { status: 'found', ...common, base: onWire(record.base), fieldsChangedBy: record.fieldAuthors };
  }
  if (record.baseStatus === 'pruned' && record.oldestVersion !== null) {
    return { status: 'pruned', ...common, oldestVersion: record.oldestVersion };
  }
  return { status: 'unknown', ...common };
}
