/**
 * `steadfast/express`: the Express router over the same services as the Fastify plugin. It loads
 * no Fastify code.
 */

export type { PrivateRecords } from '../persistence/activity-visibility.js';
export type { ActivityVisibility } from '../sync/activity-service.js';
export { ApiError, InvalidRequestError, LimitExceededError, MutationGapError } from '../sync/api-error.js';
export type { SignedInUser } from '../sync/signed-in-user.js';
export type { RecordForKey, RecordRef } from '../sync/sync-service.js';
export { browserScriptRouter } from './adapters/express/browser-script-router.js';
export {
  createExpressRouter,
  type ExpressRouterOptions,
  type SteadfastExpressRouter,
} from './adapters/express/express-router.js';
export {
  BROWSER_SCRIPT_NAME,
  BrowserScriptMissingError,
  browserScriptDirectory,
  DEFAULT_BROWSER_SCRIPT_PATH,
  type ServeBrowserScriptOptions,
} from './browser-script.js';
export type { SessionUser } from './session-user.js';
export {
  type Authenticate,
  parseSteadfastOptions,
  type SteadfastOptions,
  SteadfastOptionsError,
  type VerifyCsrf,
} from './steadfast-options.js';
