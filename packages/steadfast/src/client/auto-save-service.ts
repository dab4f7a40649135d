/**
 * The browser auto-save service: saves every form field and `saveState` value on this device as
 * the user types, and syncs drafts to the server (DESIGN.md "Browser service contract").
 *
 * Built in layers, one concept a file, each using only those below it: service-core.ts (what all
 * share), send-loop.ts (sending), stale-draft.ts (merging a stale draft), restorer.ts (restoring),
 * form-observer.ts (forms coming and going). This, the top, wires them to the page: start and
 * stop, the public API, the saving of what the user types, and the page's and other tabs' events.
 *
 * @example
 * import { createAutoSaveService } from 'steadfast/client';
 * const service = createAutoSaveService({ debounceDelay: 1000 });
 * service.start();
 */

import type { SyncChange } from '../protocol/sync.js';
import { runInBackground } from './background-task.js';
import { readFieldValue } from './field-values.js';
import { type FieldBinding, FormRegistry } from './form-binding.js';
import { FormObserver } from './form-observer.js';
import { isRecord, parseJson } from './json.js';
import { type JsonValue, LocalStore, openBrowserStorage, SIGNOUT_KEY } from './local-store.js';
import type { LogLevel, LogSink } from './logger.js';
import { readClearedKeys, readSignedInUser } from './page-meta.js';
import { askForChoices } from './restore-notice.js';
import { ANONYMOUS_SCOPE } from './service-core.js';
import type { StateListener } from './state-listeners.js';
import type { SaveStatus } from './status-indicator.js';
import { type ParkedChange, SyncQueue } from './sync-queue.js';

export interface AutoSaveOptions {
  /** Quiet time after the last change before it is queued for the server (ms). Default 2000. */
  readonly debounceDelay?: number;
  /** How often pending changes are sent regardless (ms). Default 30000. */
  readonly syncInterval?: number;
  /** Sync endpoint. Default `/api/autosave/sync/`. */
  readonly endpoint?: string;
  /** Drafts endpoint for restoring another device's draft. Default `/api/autosave/drafts/`. */
  readonly draftsEndpoint?: string;
  /** Where a stale draft's base is read, to merge it (DESIGN.md). Default `/api/autosave/base/`. */
  readonly baseEndpoint?: string;
  /** Default 'info', which prints the three seed lines. */
  readonly logLevel?: LogLevel;
  /**
   * The signed-in user the drafts belong to. Default: `<meta name="autosave-user">`. With no user,
   * drafts are kept on this device only (anonymous scope) and never sent to the server.
   */
  readonly user?: string | null;
  /** How long a draft lives on this device (ms). Default 7 days. */
  readonly draftTtl?: number;
  /** Restore from the server when this device has no draft. Default true. */
  readonly restoreFromServer?: boolean;
  /** For tests and embedding: the document, storage, fetch, clock and console to use. */
  readonly document?: Document;
  readonly storage?: Storage | null;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly console?: LogSink;
}

export type SyncResult =
  | 'synced'
  | 'nothing-to-sync'
  | 'local-only'
  | 'offline'
  | 'retrying'
  | 'unauthorized'
  | 'busy'
  | 'stopped';

export interface SyncOutcome {
  readonly result: SyncResult;
  /** Changes the server applied during this call. */
  readonly synced: number;
}

export interface AutoSaveService {
  /** Binds every form on the page (and those added later), restores drafts, starts syncing. */
  start(): void;
  /** Removes every listener and timer; drafts stay. */
  stop(): void;
  /** Saves a piece of UI state under `key` (on this device now, on the server after the debounce). */
  saveState(key: string, value: JsonValue): void;
  /** The state saved under `key`, or `fallback`. */
  getState<T extends JsonValue | null>(key: string, fallback: T): JsonValue | T;
  /**
   * Calls `listener` with `key`'s new value whenever it changes: `saveState` in this tab or another,
   * the service's start (the value stored before it), a value restored from the server (asked once
   * when this device has none), or null when it is gone (signed out). Returns the unsubscribe function.
   *
   * @example
   * const unsubscribe = autoSaveService.subscribe('sidebar', (value) => render(value ?? { open: false }));
   */
  subscribe(key: string, listener: StateListener): () => void;
  /** Deletes a form's draft here and on the server. */
  clear(formKey: string): void;
  /** Writes every field of every form on the page, then syncs. */
  saveAllPending(): Promise<SyncOutcome>;
  /** Sends everything queued now, waiting for another tab's send to finish first. */
  syncWithBackend(): Promise<SyncOutcome>;
  /** Removes this user's drafts from the browser, in every tab. */
  signOut(): void;
  readonly status: SaveStatus;
  /** Changes the server refused as invalid: kept for reporting, never retried. */
  parkedChanges(): ParkedChange[];
}

const SEVEN_DAYS = 7 * 24 * 60 * 60 * 1000;
/** The draft's "saved at" is refreshed at most this often while typing (one extra write a second). */
const META_REFRESH_MS = 1000;

class BrowserAutoSaveService extends FormObserver implements AutoSaveService {
  #intervalTimer: ReturnType<typeof setInterval> | undefined;
  /** Cancels the task after start that sets up what the restore need not wait for. */
  #cancelSetup: (() => void) | undefined;
  readonly #teardown: (() => void)[] = [];

  get status(): SaveStatus {
    return this.indicator.status;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const user = this.settings.user === undefined ? readSignedInUser(this.doc) : this.settings.user;
    this.userScope = user ?? ANONYMOUS_SCOPE;
    this.syncEnabled = user !== null;
    const storage =
      this.settings.storage === undefined ? openBrowserStorage(this.win) : this.settings.storage;
    this.store = new LocalStore(storage, this.userScope, {
      ttlMs: this.settings.draftTtl ?? SEVEN_DAYS,
      now: this.clock,
      onProblem: (problem) => this.onStorageProblem(problem),
    });
    if (storage === null) this.onStorageProblem({ kind: 'unavailable' });
    this.queue = new SyncQueue(this.store);
    this.registry = new FormRegistry(this.doc, this.store);
    this.beginSending();
    this.#applyClearedKeys();
    // Subscribed before start, they were told nothing; what was stored is theirs now.
    for (const key of this.stateListeners.listenedKeys()) this.#announceState(key);
    this.beginRestoring();

    if (this.doc.readyState !== 'complete') {
      // Page scripts that fill fields during load must not win over the user's draft, nor what the
      // app loads right after.
      this.#listen(this.win, 'load', () => {
        this.reapplyDrafts();
        if (this.holdUntil > 0) this.hold();
      });
    }
    this.observeForms();

    for (const scope of this.registry.liveScopes()) this.restoreScope(scope);
    // Listened to once the restore's steps have run (microtasks, before any user input can come): the
    // restore's own input and change events, two a field, then need no handler.
    this.afterSteps(() => {
      this.#listen(this.doc, 'input', (event) => this.#onFieldEvent(event), true);
      this.#listen(this.doc, 'change', (event) => this.#onFieldEvent(event), true);
    });
    this.#listen(this.doc, 'submit', (event) => this.#onSubmit(event), true);
    this.indicator.render();
    // The rest runs after start at background priority, behind the page's rendering and its own
    // tasks: nothing there can lose a keystroke (each is in storage already, and a page left before
    // it runs sends its queue on the next start), the scans read every stored key, and Chromium
    // waits on its browser process when a page first listens to `storage` (in a CPU profile of a
    // 1,000-field restore on a busy machine, milliseconds before the restored form could paint).
    this.#cancelSetup = runInBackground(this.win, () => {
      if (!this.canSave()) return;
      // Chrome may never fire unload on mobile: visibilitychange to hidden is the last reliable event.
      this.#listen(this.doc, 'visibilitychange', () => this.onVisibilityChange());
      this.#listen(this.win, 'pagehide', () => this.onPageHide());
      this.#listen(this.win, 'pageshow', (event) => this.#onPageShow(event as PageTransitionEvent));
      this.#listen(this.win, 'online', () => void this.sync(false));
      this.#listen(this.win, 'offline', () => this.indicator.set('offline'));
      this.#listen(this.win, 'storage', (event) => this.#onStorage(event as StorageEvent));
      this.#intervalTimer = setInterval(() => {
        if (this.queue.hasWork()) void this.sync(false);
      }, this.settings.syncInterval ?? 30_000);
      // What another tab did before this tab listened: a sign-out, or edits to untouched fields.
      if (this.store.read(`${this.store.prefix}cid`) === null) {
        this.#endSession();
        return;
      }
      this.reapplyDrafts();
      this.store.purgeExpired();
      if (this.queue.hasWork()) {
        this.showLocalStatus();
        // Changes left by a closed or crashed page go out now, not after the first keystroke.
        void this.sync(false);
      }
    });
    this.logger.info('Service initialized');
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    for (const remove of this.#teardown.splice(0)) remove();
    // Restore steps not run yet stay unrun: among them may be this start's listening to fields.
    this.steps.length = 0;
    // A hold's frame still to come finds the service stopped and ends the hold.
    this.stopObserving();
    this.debouncer.cancel();
    clearInterval(this.#intervalTimer);
    // A stop and start before it ran must not set up listeners and the interval twice.
    this.#cancelSetup?.();
    this.stopSending();
  }

  saveState(key: string, value: JsonValue): void {
    if (!this.canSave()) return;
    this.store.writeState(key, value);
    this.noteChange('state', key);
    this.stateListeners.notify(key, value);
  }

  getState<T extends JsonValue | null>(key: string, fallback: T): JsonValue | T {
    if (!this.started) return fallback;
    return this.store.readState(key)?.value ?? fallback;
  }

  subscribe(key: string, listener: StateListener): () => void {
    if (this.canSave() && this.store.readState(key) === null) void this.#restoreStateFromServer(key);
    return this.stateListeners.listen(key, listener);
  }

  clear(formKey: string): void {
    if (!this.canSave()) return;
    this.store.clearForm(formKey);
    for (const scope of this.registry.liveScopes(formKey)) {
      this.resetScope(scope);
      this.notices.get(scope.element)?.remove();
    }
    // A draft that no longer exists locally is sent as data: null, which deletes it on the server.
    this.noteChange('form', formKey);
  }

  async saveAllPending(): Promise<SyncOutcome> {
    if (this.canSave()) {
      for (const scope of this.registry.liveScopes()) {
        if (scope.restored === 'offered') continue;
        for (const binding of this.registry.fieldsOf(scope)) this.#saveField(binding);
      }
    }
    return this.syncWithBackend();
  }

  syncWithBackend(): Promise<SyncOutcome> {
    this.logSavedForms();
    return this.sync(true);
  }

  signOut(): void {
    if (!this.started) return;
    this.store.clearScope();
    try {
      // Other tabs learn of it through the storage event this write fires there.
      this.win.localStorage.setItem(SIGNOUT_KEY, JSON.stringify({ user: this.userScope, at: this.clock() }));
    } catch {
      // Blocked storage: no other tab can hold this user's drafts either.
    }
    this.#endSession();
  }

  parkedChanges(): ParkedChange[] {
    return this.started ? this.queue.parked() : [];
  }

  // ---- saving -------------------------------------------------------------------------------

  #onFieldEvent(event: Event): void {
    if (this.restoring || this.signedOut) return;
    const binding = this.registry.bindingOf(event.target);
    if (binding !== null && binding.scope.restored !== 'offered') this.#saveField(binding);
  }

  /** The local write happens here, inside the event's handler: a tab closed right after keeps it. */
  #saveField(binding: FieldBinding): void {
    const { scope } = binding;
    const now = this.clock();
    if (now - scope.metaWrittenAt >= META_REFRESH_MS) {
      this.store.writeMeta(scope.key, { v: scope.version, t: now });
      scope.metaWrittenAt = now;
    }
    this.store.write(binding.storageKey, JSON.stringify(readFieldValue(binding)), scope.key);
    scope.editedFields.add(binding.name);
    this.noteChange('form', scope.key);
  }

  protected onQuiet(): void {
    this.logSavedForms();
    void this.sync(false);
  }

  #onSubmit(event: Event): void {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !this.canSave()) return;
    if (form.hasAttribute('data-autosave-signout')) {
      this.signOut();
      return;
    }
    const scope = this.registry.scopeOf(form);
    if (scope === null) return;
    const notice = this.notices.get(form);
    if (scope.restored === 'offered' && notice?.querySelector('fieldset')) {
      // A merge waits for the user's choices: a submit now would save the other side's value unasked.
      event.preventDefault();
      event.stopImmediatePropagation();
      askForChoices(notice);
      return;
    }
    for (const binding of this.registry.fieldsOf(scope)) this.#saveField(binding);
    // The draft stays until the server confirms the submit (autosave-clear on the next page):
    // a submit that fails validation or never arrives keeps it.
    this.store.writeMeta(scope.key, { v: scope.version, t: this.clock(), s: this.clock() });
  }

  #applyClearedKeys(): void {
    for (const key of readClearedKeys(this.doc)) {
      this.store.clearForm(key);
      if (this.syncEnabled) this.queue.markPending('form', key, this.clock());
    }
  }

  #endSession(): void {
    this.signedOut = true;
    for (const notice of this.notices.values()) notice.remove();
    for (const key of this.stateListeners.listenedKeys()) this.stateListeners.notify(key, null);
    this.stop();
    this.indicator.set('idle', 'Signed out');
  }

  // ---- states -------------------------------------------------------------------------------

  /** Tells `key`'s listeners the value stored before they could read it, or asks the server for one. */
  #announceState(key: string): void {
    const state = this.store.readState(key);
    if (state) this.stateListeners.notify(key, state.value);
    else void this.#restoreStateFromServer(key);
  }

  async #restoreStateFromServer(key: string): Promise<void> {
    const draft = await this.fetchDraft(key, 'state');
    // A value saved here while the request was out wins.
    if (draft?.data == null || !this.canSave() || this.store.readState(key)) return;
    this.store.writeState(key, draft.data);
    this.stateListeners.notify(key, draft.data);
  }

  // ---- page and tab events ------------------------------------------------------------------

  #listen(target: EventTarget, type: string, handler: (event: Event) => void, capture = false): void {
    target.addEventListener(type, handler, capture);
    this.#teardown.push(() => target.removeEventListener(type, handler, capture));
  }

  #onStorage(event: StorageEvent): void {
    const key = event.key;
    if (key === null || this.signedOut) return;
    if (key === SIGNOUT_KEY) {
      // Any script of the page can write this key: what is not ours reads as no signal, not a throw.
      const signal = parseJson(event.newValue, isRecord);
      if (isRecord(signal) && signal.user === this.userScope) {
        this.store.clearScope();
        this.#endSession();
      }
      return;
    }
    if (!key.startsWith(this.store.prefix)) return;
    const section = key.slice(this.store.prefix.length);
    if (section.startsWith('p:')) {
      if (event.newValue === null) this.queue.forgetMarker(key);
    } else if (section.startsWith('f:') && event.newValue !== null) {
      this.showOtherTabEdit(section.slice(2), event.newValue);
    } else if (section.startsWith('s:')) {
      const stateKey = section.slice(2);
      this.stateListeners.notify(stateKey, this.store.readState(stateKey)?.value ?? null);
    } else if (section.startsWith('m:') && event.newValue === null) {
      for (const scope of this.registry.liveScopes(section.slice(2))) this.resetScope(scope);
    } else if (section === 'outbox' && event.newValue === null && !this.queue.hasWork()) {
      this.indicator.savedToServer(this.clock());
    }
  }

  #onPageShow(event: PageTransitionEvent): void {
    this.pageShown();
    if (!event.persisted || !this.canSave()) return;
    // Restored from the back/forward cache: another tab may have signed out or edited meanwhile.
    if (this.store.read(`${this.store.prefix}cid`) === null) {
      this.#endSession();
      return;
    }
    this.reapplyDrafts();
    if (this.queue.hasWork()) void this.sync(false);
  }
}

/** Creates the service; call `start()` to bind the page. The bundled script does both on load. */
export function createAutoSaveService(options: AutoSaveOptions = {}): AutoSaveService {
  return new BrowserAutoSaveService(options);
}

export type { SyncChange };
