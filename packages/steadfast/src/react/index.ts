/**
 * `steadfast/react`: the optional React binding (React 18 or 19, a peer dependency), apart from
 * the browser script. Its hooks use the page's auto-save service; they never start one.
 */
export { AutoSaveServiceContext } from './auto-save-context.js';
export { type SetSavedState, useSavedState } from './use-saved-state.js';
