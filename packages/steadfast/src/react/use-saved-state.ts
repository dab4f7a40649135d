import { useContext, useMemo, useSyncExternalStore } from 'react';
import type { AutoSaveService, JsonValue } from '../client/index.js';
import { AutoSaveServiceContext } from './auto-save-context.js';
import { createSavedStateStore } from './saved-state-store.js';

/** Sets the value, or computes it from the latest one (as React's `useState` setter). */
export type SetSavedState<T> = (next: T | ((previous: T) => T)) => void;

interface PageGlobals {
  readonly autoSaveService?: AutoSaveService;
}

/** The bundled script's service; none on the server. */
const pageService = (): AutoSaveService | undefined =>
  typeof window === 'undefined' ? undefined : (window as PageGlobals).autoSaveService;

/** The server, and the hydrating render, show `initial`: what the server rendered, so no mismatch. */
const serverSnapshot = (): null => null;

/**
 * React state saved by the auto-save service under `key` (`saveState`): it comes back after a
 * reload, follows changes made in other tabs, and reaches the server with the user's drafts.
 * `initial` (taken on the first render, as `useState` takes it) is shown while the key holds
 * nothing: on the server, while hydrating, before the service starts. The value must survive
 * JSON (plain objects, arrays, strings, finite numbers, booleans); null reads back as `initial`.
 *
 * The service is `AutoSaveServiceContext`'s, else the bundled script's `window.autoSaveService`;
 * with neither (the script not on the page) the value is kept for this component only, unsaved.
 *
 * @example
 * const [rows, setRows] = useSavedState<InvoiceRow[]>('invoice-rows', []);
 * const addRow = () => setRows((previous) => [...previous, { item: '', qty: 1 }]);
 */
export function useSavedState<T>(key: string, initial: T): [T, SetSavedState<T>] {
  const service = useContext(AutoSaveServiceContext) ?? pageService();
  // biome-ignore lint/correctness/useExhaustiveDependencies: initial counts on the first render only, as useState's
  const [store, initialValue] = useMemo(
    () => [createSavedStateStore(service, key), initial] as const,
    [service, key],
  );
  const stored = useSyncExternalStore(store.subscribe, store.read, serverSnapshot);
  const setValue = useMemo<SetSavedState<T>>(
    () => (next) => {
      const previous = (store.read() ?? initialValue) as T;
      const value = typeof next === 'function' ? (next as (previous: T) => T)(previous) : next;
      store.write(value as JsonValue);
    },
    [store, initialValue],
  );
  return [(stored ?? initialValue) as T, setValue];
}
