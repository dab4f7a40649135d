import { createContext } from 'react';
import type { AutoSaveService } from '../client/index.js';

/**
 * The service `useSavedState` uses below it, for an app that creates its own with
 * `createAutoSaveService` (`steadfast/client`). Without a provider the hooks use the bundled
 * script's `window.autoSaveService`.
 *
 * @example
 * const service = createAutoSaveService({ debounceDelay: 1000 });
 * service.start();
 * root.render(createElement(AutoSaveServiceContext.Provider, { value: service }, createElement(App)));
 */
export const AutoSaveServiceContext = createContext<AutoSaveService | null>(null);
AutoSaveServiceContext.displayName = 'AutoSaveServiceContext';
