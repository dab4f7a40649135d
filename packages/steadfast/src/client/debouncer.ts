/**
 * "Run after `delayMs` of quiet." Unlike clearTimeout/setTimeout on every call, a keystroke only
 * records its time; the one pending timer re-arms itself for the remaining quiet time. This keeps
 * the per-keystroke cost at a property write.
 */
export class Debouncer {
  #lastPokeAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  readonly #delayMs: number;
  readonly #action: () => void;
  readonly #now: () => number;

  constructor(delayMs: number, action: () => void, now: () => number = Date.now) {
    this.#delayMs = delayMs;
    this.#action = action;
    this.#now = now;
  }

  poke(): void {
    this.#lastPokeAt = this.#now();
    if (this.#timer === undefined) this.#arm(this.#delayMs);
  }

  cancel(): void {
    // clearTimeout(undefined) does nothing.
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(waitMs: number): void {
    this.#timer = setTimeout(() => {
      const quietFor = this.#now() - this.#lastPokeAt;
      if (quietFor < this.#delayMs) {
        this.#arm(this.#delayMs - quietFor);
        return;
      }
      this.#timer = undefined;
      this.#action();
    }, waitMs);
  }
}
