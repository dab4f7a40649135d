/**
 * The browser service's first layer (the service is built in layers, one concept a file, each using
 * only the layers below it; auto-save-service.ts is the top): what every part shares — the page, the
 * user's stores, whether the service may save — and the steps they all take: telling a change to the
 * queue and the status, storage problems, the "Saved form data" lines, and asking the server for a
 * draft of another device.
 */
import type { ChangeKind } from '../protocol/constants.js';
import { DRAFTS_PATH } from '../protocol/constants.js';
import type { Draft } from '../protocol/sync.js';
import type { AutoSaveOptions } from './auto-save-service.js';
import { Debouncer } from './debouncer.js';
import type { FormRegistry } from './form-binding.js';
import { isRecord } from './json.js';
import type { LocalStore, StorageProblem } from './local-store.js';
import { createLogger, type Logger } from './logger.js';
import { StateListeners } from './state-listeners.js';
import { StatusIndicator } from './status-indicator.js';
import type { SyncQueue } from './sync-queue.js';

export const ANONYMOUS_SCOPE = 'anonymous';

export abstract class ServiceCore {
  protected readonly settings: AutoSaveOptions;
  protected readonly doc: Document;
  protected readonly win: Window;
  protected readonly clock: () => number;
  protected readonly http: typeof fetch;
  protected readonly logger: Logger;
  protected readonly indicator: StatusIndicator;
  /** Sends what changed once the user pauses (onQuiet). */
  protected readonly debouncer: Debouncer;
  protected readonly stateListeners = new StateListeners();
  /** Restore notices shown, by their form (one a form): one whose form left the page (a route change) goes too. */
  protected readonly notices = new Map<HTMLElement, HTMLElement>();

  // Set by start() for the user it finds signed in.
  protected store!: LocalStore;
  protected queue!: SyncQueue;
  protected registry!: FormRegistry;
  protected userScope = ANONYMOUS_SCOPE;
  /** False without a signed-in user: drafts stay on this device, never asked of or sent to the server. */
  protected syncEnabled = false;

  protected started = false;
  protected signedOut = false;
  /** A storage problem on show ("Storage is full…"), which "saving" and "saved" must not hide. */
  protected storageWarning: string | null = null;
  /** Keys changed since the last "Saved form data" line. */
  readonly #unloggedKeys = new Set<string>();
  /** `<kind>:<key>` of the drafts asked of the server already (once each). */
  readonly #serverChecked = new Set<string>();

  constructor(options: AutoSaveOptions) {
    this.settings = options;
    this.doc = options.document ?? document;
    const view = this.doc.defaultView;
    if (view === null) throw new TypeError('createAutoSaveService needs a document shown in a window');
    this.win = view;
    this.clock = options.now ?? Date.now;
    this.http = options.fetch ?? view.fetch.bind(view);
    this.logger = createLogger(options.logLevel ?? 'info', options.console);
    this.indicator = new StatusIndicator(this.doc);
    this.debouncer = new Debouncer(options.debounceDelay ?? 2000, () => this.onQuiet(), this.clock);
  }

  /** The user paused: what changed goes to the server. */
  protected abstract onQuiet(): void;

  protected canSave(): boolean {
    return this.started && !this.signedOut;
  }

  protected noteChange(kind: ChangeKind, key: string): void {
    if (this.syncEnabled) this.queue.markPending(kind, key, this.clock());
    if (kind === 'form') this.#unloggedKeys.add(key);
    this.debouncer.poke();
    this.showLocalStatus();
  }

  protected showLocalStatus(): void {
    if (this.storageWarning !== null) this.indicator.set('error', this.storageWarning);
    else if (!this.syncEnabled) this.indicator.set('local', 'Saved on this device only (not signed in)');
    else this.indicator.set('local');
  }

  protected onStorageProblem(problem: StorageProblem): void {
    const message =
      problem.kind === 'unavailable'
        ? 'Storage is blocked: changes are kept only in this tab'
        : problem.keptInMemoryOnly
          ? 'Storage is full: changes are kept only in this tab'
          : `Storage was full: ${problem.evictedDrafts} older draft(s) removed`;
    if (message === this.storageWarning) return;
    this.storageWarning = message;
    this.logger.warn(message);
    this.indicator.set('error', message);
  }

  protected logSavedForms(): void {
    for (const key of this.#unloggedKeys) this.logger.info(`Saved form data: ${key}`);
    this.#unloggedKeys.clear();
  }

  /** Another device's draft of `key`, asked of the server once a key and kind; undefined when none. */
  protected async fetchDraft(key: string, kind: ChangeKind): Promise<Draft | undefined> {
    const checked = `${kind}:${key}`;
    if (!this.syncEnabled || this.settings.restoreFromServer === false || this.#serverChecked.has(checked))
      return;
    this.#serverChecked.add(checked);
    // Offline or no endpoint: the device's copy (none) stands.
    const body = await this.getJson(
      `${this.settings.draftsEndpoint ?? DRAFTS_PATH}?key=${encodeURIComponent(key)}`,
    );
    const drafts: unknown[] = isRecord(body) && Array.isArray(body.drafts) ? body.drafts : [body];
    return drafts.find(
      (candidate): candidate is Draft =>
        isRecord(candidate) && candidate.key === key && candidate.kind === kind,
    );
  }

  /** The server's JSON answer to a GET (the session cookie goes with it), or undefined when there is none. */
  protected async getJson(url: string): Promise<unknown> {
    try {
      const response = await this.http(url, { headers: { accept: 'application/json' } });
      return response.ok ? await response.json() : undefined;
    } catch {
      return undefined;
    }
  }
}
