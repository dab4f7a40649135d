/**
 * One key's value as a `useSyncExternalStore` store: the service's value under the key, read once
 * and then kept from what `subscribe` tells, so the snapshot is the same object until the value
 * changes (React re-renders, or loops, on every new one).
 */
import type { AutoSaveService, JsonValue } from '../client/index.js';

export interface SavedStateStore {
  /** The stored value, or null when the key has none (then the hook shows its `initial`). */
  readonly read: () => JsonValue | null;
  readonly subscribe: (onChange: () => void) => () => void;
  /** Shows `value` at once and saves it: shown even where the service cannot save (not started, none). */
  readonly write: (value: JsonValue) => void;
}

const sameJson = (left: JsonValue | null, right: JsonValue | null) =>
  left === right || JSON.stringify(left) === JSON.stringify(right);

/** What the store needs of the service. */
export type StateService = Pick<AutoSaveService, 'getState' | 'saveState' | 'subscribe'>;

export function createSavedStateStore(service: StateService | undefined, key: string): SavedStateStore {
  /** undefined until first read. */
  let current: JsonValue | null | undefined;
  const onChanges = new Set<() => void>();
  const take = (value: JsonValue | null) => {
    if (value === current) return;
    current = value;
    for (const onChange of [...onChanges]) onChange();
  };
  const readService = () => service?.getState(key, null) ?? null;
  return {
    read: () => {
      if (current === undefined) current = readService();
      return current;
    },
    subscribe(onChange) {
      onChanges.add(onChange);
      const unsubscribe = service?.subscribe(key, take);
      // A change between the render that read the value and this subscription was told to no one.
      const now = readService();
      if (current !== undefined && !sameJson(now, current)) take(now);
      return () => {
        onChanges.delete(onChange);
        unsubscribe?.();
      };
    },
    write(value) {
      take(value);
      service?.saveState(key, value);
    },
  };
}
