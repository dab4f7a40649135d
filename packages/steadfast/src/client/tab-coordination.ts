/**
 * One sender per user across tabs. A Web Lock is held only while a request is in flight (a held
 * lock keeps a page out of the back/forward cache), and never waited for by timers: a tab that
 * finds it taken leaves the work to the holder, which re-reads the shared queue before letting go.
 */
export const LOCK_BUSY = Symbol();

export class SenderLock {
  readonly #name: string;
  readonly #view: Pick<Window, 'navigator'>;

  /**
   * Takes the window, not its navigator or LockManager: the first `navigator` read costs ~0.15 ms and
   * the first `navigator.locks` read milliseconds, which start() (a restore) must not pay.
   */
  constructor(name: string, view: Pick<Window, 'navigator'>) {
    this.#name = name;
    this.#view = view;
  }

  /**
   * Runs `work` holding the lock. With `wait` false, returns LOCK_BUSY at once when another tab
   * holds it. Without Web Locks (very old browsers) the work simply runs.
   */
  async run<T>(work: () => Promise<T>, wait: boolean): Promise<T | typeof LOCK_BUSY> {
    const locks: LockManager | undefined = this.#view.navigator.locks;
    // The request answers what its callback does: the work's outcome, or LOCK_BUSY without the lock.
    return locks
      ? locks.request(this.#name, { ifAvailable: !wait }, (lock) => (lock ? work() : LOCK_BUSY))
      : work();
  }
}
