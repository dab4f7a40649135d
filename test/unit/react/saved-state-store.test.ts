/**
 * The store `useSavedState` gives `useSyncExternalStore`, over a stand-in service: the snapshot
 * stays the same object until the value changes (a new one each read would re-render, or loop,
 * forever), a change made before React subscribed is not missed, and a value set is shown even
 * where the service cannot save it.
 */
import { describe, expect, it } from 'vitest';
import type { JsonValue, StateListener } from '../../../packages/steadfast/src/client/index.js';
import {
  createSavedStateStore,
  type StateService,
} from '../../../packages/steadfast/src/react/saved-state-store.js';

/** Keeps values as the real service does (JSON, so each read is a new object) and tells listeners. */
class StandInService implements StateService {
  readonly #values = new Map<string, string>();
  readonly #listeners = new Map<string, Set<StateListener>>();
  /** False: as before start or after sign-out, saveState keeps nothing. */
  saving = true;

  getState<T extends JsonValue | null>(key: string, fallback: T): JsonValue | T {
    const raw = this.#values.get(key);
    return raw === undefined ? fallback : (JSON.parse(raw) as JsonValue);
  }

  saveState(key: string, value: JsonValue): void {
    if (!this.saving) return;
    this.#values.set(key, JSON.stringify(value));
    for (const listener of this.#listeners.get(key) ?? []) listener(value);
  }

  /** Another tab's write: stored, and told as a fresh parse. */
  writeFromAnotherTab(key: string, value: JsonValue): void {
    this.#values.set(key, JSON.stringify(value));
    for (const listener of this.#listeners.get(key) ?? []) listener(this.getState(key, null));
  }

  subscribe(key: string, listener: StateListener): () => void {
    const listeners = this.#listeners.get(key) ?? new Set();
    this.#listeners.set(key, listeners.add(listener));
    return () => listeners.delete(listener);
  }

  listenerCount(key: string): number {
    return this.#listeners.get(key)?.size ?? 0;
  }
}

describe('createSavedStateStore', () => {
  it('reads the same object again and again until the value changes', () => {
    const service = new StandInService();
    service.saveState('rows', [{ item: 'Desk' }]);
    const store = createSavedStateStore(service, 'rows');
    const first = store.read();
    expect(first).toEqual([{ item: 'Desk' }]);
    expect(store.read()).toBe(first);

    let changes = 0;
    store.subscribe(() => changes++);
    expect(store.read()).toBe(first);
    service.writeFromAnotherTab('rows', [{ item: 'Lamp' }]);
    expect(changes).toBe(1);
    expect(store.read()).toEqual([{ item: 'Lamp' }]);
    expect(store.read()).toBe(store.read());
  });

  it('reads null for a key with no value', () => {
    expect(createSavedStateStore(new StandInService(), 'none').read()).toBeNull();
    expect(createSavedStateStore(undefined, 'none').read()).toBeNull();
  });

  it('does not miss a change made after the render read the value and before React subscribed', () => {
    const service = new StandInService();
    const store = createSavedStateStore(service, 'note');
    expect(store.read()).toBeNull();
    service.writeFromAnotherTab('note', 'typed meanwhile');
    let changes = 0;
    store.subscribe(() => changes++);
    expect(changes).toBe(1);
    expect(store.read()).toBe('typed meanwhile');
  });

  it('saves what is written and shows it, once, to every subscriber', () => {
    const service = new StandInService();
    const store = createSavedStateStore(service, 'note');
    store.read();
    let changes = 0;
    store.subscribe(() => changes++);
    store.write('hello');
    expect(service.getState('note', null)).toBe('hello');
    expect(store.read()).toBe('hello');
    expect(changes).toBe(1);
  });

  it('shows what is written where the service keeps nothing (not started, signed out) or there is none', () => {
    const service = new StandInService();
    service.saving = false;
    const store = createSavedStateStore(service, 'note');
    store.subscribe(() => {});
    store.write('kept on screen');
    expect(store.read()).toBe('kept on screen');
    expect(service.getState('note', null)).toBeNull();

    const alone = createSavedStateStore(undefined, 'note');
    alone.write('no service');
    expect(alone.read()).toBe('no service');
  });

  it('stops listening to the service when React unsubscribes', () => {
    const service = new StandInService();
    const store = createSavedStateStore(service, 'note');
    let changes = 0;
    const unsubscribe = store.subscribe(() => changes++);
    expect(service.listenerCount('note')).toBe(1);
    unsubscribe();
    expect(service.listenerCount('note')).toBe(0);
    service.writeFromAnotherTab('note', 'later');
    expect(changes).toBe(0);
  });
});
