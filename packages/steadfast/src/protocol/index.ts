/**
 * `steadfast/protocol`: the sync protocol's wire types and their runtime schemas, shared by the
 * browser service and the server. Types are inferred from the schemas, so the format is written once.
 */
export {
  API_ERROR_CODES,
  type ApiErrorCode,
  CHANGE_KINDS,
  CHANGE_RESULT_STATUSES,
  type ChangeKind,
  type ChangeResultStatus,
  CSRF_HEADER,
  CSRF_META,
  DRAFTS_PATH,
  KEEPALIVE_BODY_LIMIT_BYTES,
  MAX_CHANGES_PER_BATCH,
  MAX_DATA_DEPTH,
  MAX_KEY_LENGTH,
  MAX_STORED_INTEGER,
  MAX_SYNC_BODY_BYTES,
  SYNC_PATH,
  SYNC_PROTOCOL_VERSION,
  USER_META,
} from './constants.js';
export { isStorableText, unstorableTextReason } from './storable-text.js';
export {
  type ApiErrorBody,
  apiErrorSchema,
  type ChangeResult,
  changeResultSchema,
  changeSchema,
  type Draft,
  type DraftsResponse,
  draftSchema,
  draftsQuerySchema,
  draftsResponseSchema,
  jsonValueSchema,
  type SyncChange,
  type SyncRequest,
  type SyncResponse,
  syncRequestSchema,
  syncResponseSchema,
} from './sync.js';
export {
  type ConflictChoice,
  type FieldValues,
  type JsonFieldValue,
  type MergeConflict,
  type MergeOptions,
  type MergeResult,
  mergeThreeWay,
  resolveConflicts,
  sameJsonValue,
} from './three-way-merge.js';
