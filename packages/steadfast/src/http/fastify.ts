/**
 * `steadfast/fastify`: the Fastify plugin (sessions or the app's own sign-in, CSRF, the per-request
 * transaction, the sync, drafts, activity, health and metrics routes) and what an app's own routes
 * use beside it.
 */
// The decorations an app's routes use (`app.csrfProtection`, `reply.generateCsrf()`, `request.session`)
// are declared by these modules; referencing them here carries the declarations into the entry's types.
/// <reference types="@fastify/csrf-protection" preserve="true" />
/// <reference types="@fastify/cookie" preserve="true" />

export type { PrivateRecords } from '../persistence/activity-visibility.js';
export { type ActivityService, type ActivityVisibility, activityViewer } from '../sync/activity-service.js';
export { ApiError, InvalidRequestError, LimitExceededError, MutationGapError } from '../sync/api-error.js';
export type { SignedInUser } from '../sync/signed-in-user.js';
export type { RecordForKey, RecordRef } from '../sync/sync-service.js';
export { registerBrowserScript } from './adapters/fastify/browser-script.js';
export { fastifyErrorHandler } from './adapters/fastify/error-handler.js';
export type { RequestSession, SessionHandle } from './adapters/fastify/session-plugin.js';
export { createUser, type NewUser, signIn, signOut } from './adapters/fastify/sign-in.js';
export {
  type LoginRateLimit,
  type SteadfastPluginOptions,
  steadfastPlugin,
  wantsJson,
} from './adapters/fastify/steadfast-plugin.js';
export {
  BROWSER_SCRIPT_NAME,
  BrowserScriptMissingError,
  browserScriptDirectory,
  DEFAULT_BROWSER_SCRIPT_PATH,
  type ServeBrowserScriptOptions,
} from './browser-script.js';
export { type ApiErrorResponse, toApiError } from './error-handler.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { SESSION_COOKIE_NAME } from './session-cookie-signer.js';
export type { SessionUser } from './session-user.js';
export {
  type Authenticate,
  parseSteadfastOptions,
  type SteadfastOptions,
  SteadfastOptionsError,
  type VerifyCsrf,
} from './steadfast-options.js';
