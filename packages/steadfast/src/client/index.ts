/** The client as an ES module, for apps with their own bundler. */
export type { AutoSaveOptions, AutoSaveService, SyncOutcome, SyncResult } from './auto-save-service.js';
export { createAutoSaveService } from './auto-save-service.js';
export type { JsonValue } from './local-store.js';
export type { LogLevel } from './logger.js';
export type { StateListener } from './state-listeners.js';
export type { SaveState, SaveStatus } from './status-indicator.js';
export { STATUS_EVENT } from './status-indicator.js';
