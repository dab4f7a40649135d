/**
 * Steadfast's HTTP layer: the Fastify plugin (first-class host), the Express router over the same
 * core services, sign-in, the error mapping and the metrics.
 */

export { type GroupCommitOptions, GroupCommitter } from '../persistence/group-commit.js';
export {
  type ActivityService,
  type ActivityVisibility,
  activityViewer,
  createActivityService,
  queryActivity,
} from '../sync/activity-service.js';
export {
  ApiError,
  InvalidRequestError,
  invalidRequest,
  LimitExceededError,
  MutationGapError,
} from '../sync/api-error.js';
export { DEFAULT_DRAFT_LIMITS, type DraftLimits } from '../sync/draft-limits.js';
export { listDrafts } from '../sync/drafts-service.js';
export { checkHealth, type HealthReport } from '../sync/health-service.js';
export { createMetrics, type SteadfastMetrics } from '../sync/metrics.js';
export type { SignedInUser } from '../sync/signed-in-user.js';
export {
  applySyncBatch,
  createSyncService,
  DRAFT_MODEL,
  draftObjectId,
  type RecordForKey,
  type RecordRef,
  recordForKeyOfModels,
  type SyncService,
} from '../sync/sync-service.js';
export {
  createExpressRouter,
  type ExpressRouterOptions,
  type SteadfastExpressRouter,
} from './adapters/express/express-router.js';
export { fastifyErrorHandler } from './adapters/fastify/error-handler.js';
export type { RequestSession, SessionHandle } from './adapters/fastify/session-plugin.js';
export { createUser, type NewUser, signIn, signOut } from './adapters/fastify/sign-in.js';
export {
  type LoginRateLimit,
  type SteadfastPluginOptions,
  type SteadfastServices,
  steadfastPlugin,
  wantsJson,
} from './adapters/fastify/steadfast-plugin.js';
export {
  type ApiErrorResponse,
  RETRY_AFTER_SECONDS,
  toApiError,
} from './error-handler.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { SESSION_COOKIE_NAME } from './session-cookie-signer.js';
export {
  KyselySessionStore,
  type SessionLookup,
  type SessionStoreOptions,
  type StoredSession,
} from './session-store.js';
export type { SessionUser } from './session-user.js';
export {
  type Authenticate,
  parseSteadfastOptions,
  type SteadfastOptions,
  SteadfastOptionsError,
  type VerifyCsrf,
} from './steadfast-options.js';
