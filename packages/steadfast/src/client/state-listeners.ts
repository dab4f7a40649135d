/**
 * Who listens to which `saveState` key (the service's `subscribe`), and telling them its new value.
 * A listener added while a value is being told hears the next value, not this one.
 */
import type { JsonValue } from './local-store.js';

/** Called with the key's new value, or null when it has none any more (signed out, removed in another tab). */
export type StateListener = (value: JsonValue | null) => void;

export class StateListeners {
  /** A key stays once listened to, its set perhaps empty: an app listens to a handful of keys. */
  readonly #byKey = new Map<string, Set<StateListener>>();

  /** Adds `listener` to `key`'s; returns the function that removes it (once or many times). */
  listen(key: string, listener: StateListener): () => void {
    const listeners = this.#byKey.get(key) ?? new Set();
    this.#byKey.set(key, listeners.add(listener));
    return () => void listeners.delete(listener);
  }

  /** Every key listened to. */
  listenedKeys(): string[] {
    return [...this.#byKey.keys()];
  }

  notify(key: string, value: JsonValue | null): void {
    for (const listener of [...(this.#byKey.get(key) ?? [])]) listener(value);
  }
}
