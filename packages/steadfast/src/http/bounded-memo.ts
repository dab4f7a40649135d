/**
 * A process's memory of checks already passed (cookie signatures, CSRF tokens): at most
 * `capacity` entries, the oldest forgotten first, so that no traffic can make it grow without end.
 * Only what a full check accepted is remembered; anything else is checked in full every time.
 */
export class BoundedMemo<V> {
  readonly #entries = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  remember(key: string, value: V): void {
    if (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, value);
  }
}
