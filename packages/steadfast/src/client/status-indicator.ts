/**
 * The save status in every `[data-autosave-status]` element: a machine-readable
 * `data-autosave-state` and words a user understands, announced politely to screen readers.
 * Called on every keystroke, so it touches the DOM only when what it shows changes.
 */
export const SAVE_STATES = ['idle', 'saving', 'local', 'saved', 'offline', 'error'] as const;
export type SaveState = (typeof SAVE_STATES)[number];

export interface SaveStatus {
  readonly state: SaveState;
  readonly message: string;
}

export const STATUS_EVENT = 'autosave:status';

const DEFAULT_WORDS: Record<SaveState, string> = {
  idle: 'No unsaved changes',
  saving: 'Saving…',
  local: 'Saved on this device',
  saved: 'Saved',
  offline: 'Offline: saved on this device, will be sent when back online',
  error: 'Not saved to the server',
};

/**
 * "14:05" in local time. Neither Intl nor toTimeString: a DateTimeFormat, or the time zone's name
 * toTimeString appends, costs milliseconds on a cold page; the hours only need the zone's offset.
 */
export function formatClock(time: number): string {
  const date = new Date(time);
  const pad = (part: number) => String(part).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export class StatusIndicator {
  #current: SaveStatus = { state: 'idle', message: DEFAULT_WORDS.idle };

  readonly #root: Document;

  constructor(root: Document) {
    this.#root = root;
  }

  get status(): SaveStatus {
    return this.#current;
  }

  set(state: SaveState, message: string = DEFAULT_WORDS[state]): void {
    if (this.#current.state === state && this.#current.message === message) return;
    this.#current = { state, message };
    this.render();
    this.#root.dispatchEvent(new CustomEvent<SaveStatus>(STATUS_EVENT, { detail: this.#current }));
  }

  savedToServer(time: number): void {
    this.set('saved', `Saved to the server at ${formatClock(time)}`);
  }

  /** Also called when status elements are added to the page later. */
  render(): void {
    for (const element of this.#root.querySelectorAll<HTMLElement>('[data-autosave-status]')) {
      if (!element.hasAttribute('aria-live')) element.setAttribute('aria-live', 'polite');
      if (!element.hasAttribute('role')) element.setAttribute('role', 'status');
      element.dataset.autosaveState = this.#current.state;
      if (element.textContent !== this.#current.message) element.textContent = this.#current.message;
    }
  }
}
