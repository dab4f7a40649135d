/**
 * A Storage (the localStorage interface) kept in a Map, with an optional byte capacity past which
 * setItem throws the browser's QuotaExceededError, for testing the store's quota handling.
 */
export class MemoryStorage implements Storage {
  [name: string]: unknown;
  readonly #entries = new Map<string, string>();
  readonly #capacity: number;

  constructor(capacityChars = Number.POSITIVE_INFINITY) {
    this.#capacity = capacityChars;
  }

  get length(): number {
    return this.#entries.size;
  }

  /** Characters used by keys and values, the way browsers count the quota. */
  get used(): number {
    let total = 0;
    for (const [key, value] of this.#entries) total += key.length + value.length;
    return total;
  }

  clear(): void {
    this.#entries.clear();
  }

  getItem(key: string): string | null {
    return this.#entries.get(key) ?? null;
  }

  key(index: number): string | null {
    return [...this.#entries.keys()][index] ?? null;
  }

  removeItem(key: string): void {
    this.#entries.delete(key);
  }

  setItem(key: string, value: string): void {
    const previous = this.#entries.get(key);
    const growth = key.length + value.length - (previous === undefined ? 0 : key.length + previous.length);
    if (this.used + growth > this.#capacity)
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    this.#entries.set(key, value);
  }
}
