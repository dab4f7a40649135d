/**
 * The browser auto-save service: saves every form field and `saveState` value on this device as
 * the user types, and syncs drafts to the server (DESIGN.md "Browser service contract").
 *
 * @example
 * import { createAutoSaveService } from 'steadfast/client';
 * const service = createAutoSaveService({ debounceDelay: 1000 });
 * service.start();
 */

import type { ChangeKind } from '../protocol/constants.js';
import {
  BASE_PATH,
  DRAFTS_PATH,
  KEEPALIVE_BODY_LIMIT_BYTES,
  MAX_CHANGES_PER_BATCH,
  MAX_SYNC_BODY_BYTES,
  SYNC_PATH,
} from '../protocol/constants.js';
import type { Draft, SyncChange, SyncResponse } from '../protocol/sync.js';
import type { FieldValues } from '../protocol/three-way-merge.js';
import { backoffDelay } from './backoff.js';
import { Debouncer } from './debouncer.js';
import { describeAuthor, describeMerge, isFoundBase, mergeDraft } from './draft-merge.js';
import {
  type FieldValue,
  isFieldValue,
  parseFieldValue,
  readFieldValue,
  sameFieldValue,
  writeFieldValue,
} from './field-values.js';
import {
  BINDING_ATTRIBUTES,
  FIELD_SELECTOR,
  type FieldBinding,
  FormRegistry,
  type FormScope,
  SCOPE_SELECTOR,
} from './form-binding.js';
import { awaitsHydration } from './hydration.js';
import { isRecord, parseJson } from './json.js';
import {
  type JsonValue,
  LocalStore,
  openBrowserStorage,
  SIGNOUT_KEY,
  type StorageProblem,
} from './local-store.js';
import { createLogger, type Logger, type LogLevel, type LogSink } from './logger.js';
import { readClearedKeys, readCsrfToken, readSignedInUser } from './page-meta.js';
import { askForChoices, type RestoreNoticeContent, showRestoreNotice } from './restore-notice.js';
import { type StateListener, StateListeners } from './state-listeners.js';
import { type SaveStatus, StatusIndicator } from './status-indicator.js';
import { sendChanges } from './sync-client.js';
import { type ChangeData, type ParkedChange, SyncQueue, takeWithinBytes } from './sync-queue.js';
import { LOCK_BUSY, SenderLock } from './tab-coordination.js';

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
/** A tab that found another tab sending checks again after this long. */
const BUSY_RETRY_MS = 2000;
const ANONYMOUS_SCOPE = 'anonymous';
/**
 * How long after a draft is restored into a form it holds against the app's own writes: initial
 * values set after mount (react-hook-form's defaultValues, an effect), a record loaded into the form
 * a moment later. Each frame meanwhile, a drafted field the user has not touched that no longer
 * shows the draft gets it again; fields without a draft keep what the app put there.
 */
const HOLD_MS = 3000;
/** How long a form inside a framework's root waits for hydration before it is restored anyway. */
const HYDRATION_WAIT_MS = 10_000;
const MAX_REAPPLIES = 3;

function randomUuid(view: Window): string {
  // crypto.randomUUID needs a secure context; a blob URL ends in a random v4 UUID everywhere.
  const uuid = view.crypto.randomUUID?.();
  if (uuid) return uuid;
  const url = URL.createObjectURL(new Blob());
  URL.revokeObjectURL(url);
  return url.slice(-36);
}

/** `node` and the elements inside it that match `selector`. */
const matchingIn = (node: HTMLElement, selector: string): HTMLElement[] => [
  ...(node.matches(selector) ? [node] : []),
  ...node.querySelectorAll<HTMLElement>(selector),
];

const outcome = (result: SyncResult, synced = 0): SyncOutcome => ({ result, synced });

type NoticeShower = (
  more?: Partial<RestoreNoticeContent>,
  settleConflicts?: (chosen: FieldValues) => void,
) => void;

class BrowserAutoSaveService implements AutoSaveService {
  readonly #doc: Document;
  readonly #view: Window;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  readonly #logger: Logger;
  readonly #indicator: StatusIndicator;

  #store!: LocalStore;
  #queue!: SyncQueue;
  #registry!: FormRegistry;
  #lock!: SenderLock;
  #userScope = ANONYMOUS_SCOPE;
  #syncEnabled = false;
  #clientId = '';

  #started = false;
  #signedOut = false;
  /** Set while a restore step fires its events, so they are not saved back as the user's. */
  #restoring = false;
  #hidden = false;
  #storageWarning: string | null = null;
  #failures = 0;
  /** Keys changed since the last "Saved form data" line. */
  readonly #unloggedKeys = new Set<string>();
  /** `<kind>:<key>` of the drafts asked of the server already (once each). */
  readonly #serverChecked = new Set<string>();
  readonly #stateListeners = new StateListeners();
  #keepaliveSentThrough = 0;
  #syncing: Promise<SyncOutcome> | undefined;
  #inFlight: AbortController | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #intervalTimer: ReturnType<typeof setInterval> | undefined;
  /** The task after start that sets up what the restore need not wait for. */
  #setupTimer: ReturnType<typeof setTimeout> | undefined;
  #observer: MutationObserver | undefined;
  /**
   * The steps a restore defers (writeFieldValue's `later`), not run yet: until then a field may show
   * its framework's state for a moment, not the draft.
   */
  readonly #steps: (() => void)[] = [];
  /** Scopes whose draft is being held (see HOLD_MS), and until when. */
  readonly #held = new WeakSet<FormScope>();
  #holdUntil = 0;
  #holdFrame = 0;
  #hydrationDeadline = 0;
  /**
   * How often the hold put a field's draft back. An app that rewrites what it is given (upper-cases
   * it, formats a number) would otherwise be fought every frame; past MAX_REAPPLIES it has the field.
   */
  readonly #reapplied = new WeakMap<HTMLElement, number>();
  /** Restore notices shown, by their form (one a form): one whose form left the page (a route change) goes too. */
  readonly #notices = new Map<HTMLElement, HTMLElement>();
  readonly #debouncer: Debouncer;
  readonly #teardown: (() => void)[] = [];

  readonly #options: AutoSaveOptions;

  constructor(options: AutoSaveOptions) {
    this.#options = options;
    this.#doc = options.document ?? document;
    const view = this.#doc.defaultView;
    if (view === null) throw new TypeError('createAutoSaveService needs a document shown in a window');
    this.#view = view;
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? view.fetch.bind(view);
    this.#logger = createLogger(options.logLevel ?? 'info', options.console);
    this.#indicator = new StatusIndicator(this.#doc);
    this.#debouncer = new Debouncer(options.debounceDelay ?? 2000, () => this.#onQuiet(), this.#now);
  }

  get status(): SaveStatus {
    return this.#indicator.status;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const user = this.#options.user === undefined ? readSignedInUser(this.#doc) : this.#options.user;
    this.#userScope = user ?? ANONYMOUS_SCOPE;
    this.#syncEnabled = user !== null;
    const storage =
      this.#options.storage === undefined ? openBrowserStorage(this.#view) : this.#options.storage;
    this.#store = new LocalStore(storage, this.#userScope, {
      ttlMs: this.#options.draftTtl ?? SEVEN_DAYS,
      now: this.#now,
      onProblem: (problem) => this.#onStorageProblem(problem),
    });
    if (storage === null) this.#onStorageProblem({ kind: 'unavailable' });
    this.#queue = new SyncQueue(this.#store);
    this.#registry = new FormRegistry(this.#doc, this.#store);
    this.#lock = new SenderLock(`steadfast-sync:${this.#userScope}`, this.#view);
    this.#clientId = this.#ensureClientId();
    this.#applyClearedKeys();
    // Subscribed before start, they were told nothing; what was stored is theirs now.
    for (const key of this.#stateListeners.listenedKeys()) this.#announceState(key);
    this.#hydrationDeadline = this.#now() + HYDRATION_WAIT_MS;

    if (this.#doc.readyState !== 'complete') {
      // Page scripts that fill fields during load must not win over the user's draft, nor what the
      // app loads right after.
      this.#listen(this.#view, 'load', () => {
        this.#reapplyDrafts();
        if (this.#holdUntil > 0) this.#hold();
      });
    }
    this.#observer = new MutationObserver((records) => this.#onMutations(records));
    this.#observer.observe(this.#doc, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: BINDING_ATTRIBUTES,
    });

    for (const scope of this.#registry.liveScopes()) this.#restoreScope(scope);
    // The restore's own events come in its steps, after this (see #later).
    this.#listen(this.#doc, 'input', (event) => this.#onFieldEvent(event), true);
    this.#listen(this.#doc, 'change', (event) => this.#onFieldEvent(event), true);
    this.#listen(this.#doc, 'submit', (event) => this.#onSubmit(event), true);
    this.#indicator.render();
    // The rest runs after start, out of the restore's way: nothing there can lose a keystroke (each is
    // in storage already, and a page left before it runs sends its queue on the next start), the
    // scans read every stored key, and Chromium loads sessionStorage synchronously when a page first
    // listens to `storage`.
    this.#setupTimer = setTimeout(() => {
      if (!this.#canSave()) return;
      // Chrome may never fire unload on mobile: visibilitychange to hidden is the last reliable event.
      this.#listen(this.#doc, 'visibilitychange', () => this.#onVisibilityChange());
      this.#listen(this.#view, 'pagehide', () => this.#onPageHide());
      this.#listen(this.#view, 'pageshow', (event) => this.#onPageShow(event as PageTransitionEvent));
      this.#listen(this.#view, 'online', () => void this.#sync(false));
      this.#listen(this.#view, 'offline', () => this.#indicator.set('offline'));
      this.#listen(this.#view, 'storage', (event) => this.#onStorage(event as StorageEvent));
      this.#intervalTimer = setInterval(() => {
        if (this.#queue.hasWork()) void this.#sync(false);
      }, this.#options.syncInterval ?? 30_000);
      // What another tab did before this tab listened: a sign-out, or edits to untouched fields.
      if (this.#store.read(`${this.#store.prefix}cid`) === null) {
        this.#endSession();
        return;
      }
      this.#reapplyDrafts();
      this.#store.purgeExpired();
      if (this.#queue.hasWork()) {
        this.#showLocalStatus();
        // Changes left by a closed or crashed page go out now, not after the first keystroke.
        void this.#sync(false);
      }
    });
    this.#logger.info('Service initialized');
  }

  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    for (const remove of this.#teardown.splice(0)) remove();
    // A hold's frame still to come finds the service stopped and ends the hold.
    this.#observer?.disconnect();
    this.#debouncer.cancel();
    clearInterval(this.#intervalTimer);
    // A stop and start before it ran must not set up listeners and the interval twice.
    clearTimeout(this.#setupTimer);
    clearTimeout(this.#retryTimer);
    this.#inFlight?.abort();
  }

  saveState(key: string, value: JsonValue): void {
    if (!this.#canSave()) return;
    this.#store.writeState(key, value);
    this.#noteChange('state', key);
    this.#stateListeners.notify(key, value);
  }

  getState<T extends JsonValue | null>(key: string, fallback: T): JsonValue | T {
    if (!this.#started) return fallback;
    return this.#store.readState(key)?.value ?? fallback;
  }

  subscribe(key: string, listener: StateListener): () => void {
    if (this.#canSave() && this.#store.readState(key) === null) void this.#restoreStateFromServer(key);
    return this.#stateListeners.listen(key, listener);
  }

  clear(formKey: string): void {
    if (!this.#canSave()) return;
    this.#store.clearForm(formKey);
    for (const scope of this.#registry.liveScopes(formKey)) {
      this.#resetScope(scope);
      this.#notices.get(scope.element)?.remove();
    }
    // A draft that no longer exists locally is sent as data: null, which deletes it on the server.
    this.#noteChange('form', formKey);
  }

  async saveAllPending(): Promise<SyncOutcome> {
    if (this.#canSave()) {
      for (const scope of this.#registry.liveScopes()) {
        if (scope.restored === 'offered') continue;
        for (const binding of this.#registry.fieldsOf(scope)) this.#saveField(binding);
      }
    }
    return this.syncWithBackend();
  }

  syncWithBackend(): Promise<SyncOutcome> {
    this.#logSavedForms();
    return this.#sync(true);
  }

  signOut(): void {
    if (!this.#started) return;
    this.#store.clearScope();
    try {
      // Other tabs learn of it through the storage event this write fires there.
      this.#view.localStorage.setItem(
        SIGNOUT_KEY,
        JSON.stringify({ user: this.#userScope, at: this.#now() }),
      );
    } catch {
      // Blocked storage: no other tab can hold this user's drafts either.
    }
    this.#endSession();
  }

  parkedChanges(): ParkedChange[] {
    return this.#started ? this.#queue.parked() : [];
  }

  // ---- saving -------------------------------------------------------------------------------

  #canSave(): boolean {
    return this.#started && !this.#signedOut;
  }

  #onFieldEvent(event: Event): void {
    if (this.#restoring || this.#signedOut) return;
    const binding = this.#registry.bindingOf(event.target);
    if (binding !== null && binding.scope.restored !== 'offered') this.#saveField(binding);
  }

  /** The local write happens here, inside the event's handler: a tab closed right after keeps it. */
  #saveField(binding: FieldBinding): void {
    const { scope } = binding;
    const now = this.#now();
    if (now - scope.metaWrittenAt >= META_REFRESH_MS) {
      this.#store.writeMeta(scope.key, { v: scope.version, t: now });
      scope.metaWrittenAt = now;
    }
    this.#store.write(binding.storageKey, JSON.stringify(readFieldValue(binding)), scope.key);
    scope.editedFields.add(binding.name);
    this.#noteChange('form', scope.key);
  }

  #noteChange(kind: ChangeKind, key: string): void {
    if (this.#syncEnabled) this.#queue.markPending(kind, key, this.#now());
    if (kind === 'form') this.#unloggedKeys.add(key);
    this.#debouncer.poke();
    this.#showLocalStatus();
  }

  #showLocalStatus(): void {
    if (this.#storageWarning !== null) this.#indicator.set('error', this.#storageWarning);
    else if (!this.#syncEnabled) this.#indicator.set('local', 'Saved on this device only (not signed in)');
    else this.#indicator.set('local');
  }

  #onStorageProblem(problem: StorageProblem): void {
    const message =
      problem.kind === 'unavailable'
        ? 'Storage is blocked: changes are kept only in this tab'
        : problem.keptInMemoryOnly
          ? 'Storage is full: changes are kept only in this tab'
          : `Storage was full: ${problem.evictedDrafts} older draft(s) removed`;
    if (message === this.#storageWarning) return;
    this.#storageWarning = message;
    this.#logger.warn(message);
    this.#indicator.set('error', message);
  }

  #logSavedForms(): void {
    for (const key of this.#unloggedKeys) this.#logger.info(`Saved form data: ${key}`);
    this.#unloggedKeys.clear();
  }

  #onQuiet(): void {
    this.#logSavedForms();
    void this.#sync(false);
  }

  #onSubmit(event: Event): void {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !this.#canSave()) return;
    if (form.hasAttribute('data-autosave-signout')) {
      this.signOut();
      return;
    }
    const scope = this.#registry.scopeOf(form);
    if (scope === null) return;
    const notice = this.#notices.get(form);
    if (scope.restored === 'offered' && notice?.querySelector('fieldset')) {
      // A merge waits for the user's choices: a submit now would save the other side's value unasked.
      event.preventDefault();
      event.stopImmediatePropagation();
      askForChoices(notice);
      return;
    }
    for (const binding of this.#registry.fieldsOf(scope)) this.#saveField(binding);
    // The draft stays until the server confirms the submit (autosave-clear on the next page):
    // a submit that fails validation or never arrives keeps it.
    this.#store.writeMeta(scope.key, { v: scope.version, t: this.#now(), s: this.#now() });
  }

  #applyClearedKeys(): void {
    for (const key of readClearedKeys(this.#doc)) {
      this.#store.clearForm(key);
      if (this.#syncEnabled) this.#queue.markPending('form', key, this.#now());
    }
  }

  #ensureClientId(): string {
    const key = `${this.#store.prefix}cid`;
    const existing = this.#store.read(key);
    if (existing !== null && !this.#queue.hasDamagedNumbering()) return existing;
    // A new client (or one whose numbering was damaged) numbers from 1 under a new id: the server
    // has applied nothing of it, so no change can be taken for a duplicate. Queued changes keep
    // their ids; the server's mutation_gap answer renumbers them from 1.
    this.#queue.resetNumbering();
    const created = randomUuid(this.#view);
    this.#store.write(key, created);
    return created;
  }

  #endSession(): void {
    this.#signedOut = true;
    for (const notice of this.#notices.values()) notice.remove();
    for (const key of this.#stateListeners.listenedKeys()) this.#stateListeners.notify(key, null);
    this.stop();
    this.#indicator.set('idle', 'Signed out');
  }

  #resetScope(scope: FormScope): void {
    scope.metaWrittenAt = 0;
    scope.editedFields.clear();
    scope.restored = 'discarded';
  }

  // ---- restoring ----------------------------------------------------------------------------

  /**
   * Runs a restore's step (writeFieldValue's `later`) after every step before it. Its events are how
   * frameworks learn of the value; our own listeners must not save them back (restoring).
   */
  readonly #later = (step: () => void): void => {
    if (this.#steps.push(step) === 1) queueMicrotask(this.#runStep);
  };

  /** Each step queues the next only once it has run, so the microtasks it caused (a render) go first. */
  readonly #runStep = (): void => {
    this.#restoring = true;
    try {
      this.#steps[0]?.();
    } finally {
      this.#restoring = false;
      this.#steps.shift();
      if (this.#steps.length > 0) queueMicrotask(this.#runStep);
    }
  };

  #writeField(binding: FieldBinding, value: FieldValue): void {
    writeFieldValue(binding, value, this.#later);
  }

  /** Holds drafts against the app's own writes for HOLD_MS from now, checking once a frame. */
  #hold(): void {
    this.#holdUntil = this.#now() + HOLD_MS;
    this.#holdFrame ||= requestAnimationFrame(this.#onHoldFrame);
  }

  readonly #onHoldFrame = (): void => {
    this.#holdFrame = 0;
    if (!this.#canSave()) return;
    // Before the paint: a record the app wrote during this frame is never shown over the draft.
    this.#reapplyDrafts();
    if (this.#now() < this.#holdUntil) this.#holdFrame = requestAnimationFrame(this.#onHoldFrame);
  };

  /**
   * One pass over the scope's fields: each stored value is read, compared with the field and, unless
   * the draft is stale, written at once; values equal to the page's cost no write and no event.
   */
  #restoreScope(scope: FormScope, source: 'device' | 'server' = 'device'): void {
    if (scope.restored !== 'none') return;
    const meta = this.#store.readMeta(scope.key);
    if (meta === null) {
      if (source === 'device') void this.#restoreFromServer(scope);
      return;
    }
    if (awaitsHydration(scope.element) && this.#now() < this.#hydrationDeadline) {
      // Checked again each frame until the framework has adopted the form.
      this.#hold();
      return;
    }
    const stale = meta.v !== null && scope.version !== null && meta.v < scope.version;
    if (!stale && !this.#held.has(scope)) {
      this.#held.add(scope);
      this.#hold();
    }
    /** Kept only for a stale draft, which "Restore my changes" applies whole. */
    const draft: [FieldBinding, FieldValue][] = [];
    const differing: string[] = [];
    for (const binding of this.#registry.fieldsOf(scope)) {
      // The binding already holds its storage key: no key to build per field.
      const value = parseFieldValue(this.#store.read(binding.storageKey));
      if (value === undefined) continue;
      if (stale) draft.push([binding, value]);
      const current = readFieldValue(binding);
      if (sameFieldValue(value, current)) continue;
      differing.push(binding.name);
      if (!stale) {
        scope.restored = 'applied';
        this.#applyField(binding, value, current);
      }
    }
    if (differing.length === 0) return;
    const actions = {
      discard: () => this.#discardDraft(scope),
      applyStale: () => {
        scope.restored = 'applied';
        for (const [binding, value] of draft) this.#applyField(binding, value);
        // The user chose this draft over the newer record: it now stands on the current version.
        this.#store.writeMeta(scope.key, { v: scope.version, t: this.#now() });
      },
    };
    const show: NoticeShower = (more, settleConflicts) => {
      this.#notices.get(scope.element)?.remove();
      this.#notices.set(
        scope.element,
        showRestoreNotice(
          scope.element,
          { formKey: scope.key, savedAt: meta.t, source, ...more },
          { ...actions, settleConflicts },
        ),
      );
    };
    if (stale) scope.restored = 'offered';
    // A stale draft is merged when the server can give its base; else, or anonymous, offered whole.
    if (stale && this.#syncEnabled && meta.v !== null)
      void this.#mergeStale(scope, meta.v, draft, differing, show);
    else show(stale ? { staleFields: differing } : {});
  }

  /**
   * A stale draft merged with the record field by field against the version it was made at: what
   * merges is applied at once and the draft moves to the page's version; fields both sides changed
   * wait for the user's choice (the form's submit is held meanwhile, see #onSubmit). Without a base
   * (pruned, unknown, offline) the draft is offered whole, as before.
   */
  async #mergeStale(
    scope: FormScope,
    version: number,
    draft: [FieldBinding, FieldValue][],
    differing: string[],
    show: NoticeShower,
  ): Promise<void> {
    // Offline, a 404 or an HTML page reads as no base: the draft is offered whole.
    const answer = await this.#getJson(
      `${this.#options.baseEndpoint ?? BASE_PATH}?key=${encodeURIComponent(scope.key)}&version=${version}`,
    );
    if (scope.restored !== 'offered' || !this.#canSave()) return;
    if (!isFoundBase(answer)) return show({ staleFields: differing });
    const bindings = this.#registry.fieldsOf(scope);
    const page: Record<string, FieldValue> = {};
    for (const binding of bindings) page[binding.name] = readFieldValue(binding);
    const mine = Object.fromEntries(draft.map(([binding, value]) => [binding.name, value]));
    const result = mergeDraft(answer, mine, page);
    const merged = describeMerge(result, answer, page, this.#userScope);
    const write = (values: FieldValues) => {
      for (const binding of bindings) {
        const value = values[binding.name];
        if (isFieldValue(value) && !sameFieldValue(value, readFieldValue(binding)))
          this.#applyField(binding, value, page[binding.name]);
      }
    };
    const settle = () => {
      // The draft becomes the form as it now stands, at the page's version: a later restore never
      // puts back a stale value the merge replaced, and what the user typed meanwhile is kept.
      for (const binding of bindings) {
        const value = readFieldValue(binding);
        if (Object.hasOwn(mine, binding.name) || !sameFieldValue(value, page[binding.name]))
          this.#store.write(binding.storageKey, JSON.stringify(value), scope.key);
      }
      this.#store.writeMeta(scope.key, { v: scope.version, t: this.#now() });
      scope.restored = 'applied';
      this.#noteChange('form', scope.key);
      this.#hold();
      show({ merged });
    };
    // What merges shows at once; a conflicting field keeps the page's value until chosen.
    write(result.merged);
    if (result.conflicts.length === 0) return settle();
    show(
      {
        merged,
        conflicts: result.conflicts,
        author: (field) => describeAuthor(answer, field, this.#userScope),
      },
      (chosen) => {
        write(chosen);
        settle();
      },
    );
  }

  /**
   * Writes a drafted value, keeping what the field held before the first draft value for "discard";
   * fields the user edited here win.
   */
  #applyField(binding: FieldBinding, value: FieldValue, current?: FieldValue): void {
    const { scope, name } = binding;
    if (scope.editedFields.has(name)) return;
    if (!scope.originalValues.has(name)) scope.originalValues.set(name, current ?? readFieldValue(binding));
    this.#writeField(binding, value);
  }

  #discardDraft(scope: FormScope): void {
    for (const binding of this.#registry.fieldsOf(scope)) {
      const original = scope.originalValues.get(binding.name);
      if (original !== undefined) this.#writeField(binding, original);
    }
    scope.originalValues.clear();
    this.clear(scope.key);
  }

  /**
   * A field that appeared after its form was restored, or that the page or app wrote over since (its
   * initial values, a record it loaded), gets its drafted value again unless the user edited it.
   * What it held is then what "discard" puts back: the values before the draft, as the app set them.
   */
  #restoreField(binding: FieldBinding): void {
    const { scope, name } = binding;
    if (scope.restored !== 'applied' || scope.editedFields.has(name)) return;
    const value = parseFieldValue(this.#store.read(binding.storageKey));
    if (value === undefined) return;
    const { element } = binding;
    const current = readFieldValue(binding);
    const count = this.#reapplied.get(element) ?? 0;
    if (sameFieldValue(value, current) || count >= MAX_REAPPLIES) return;
    this.#reapplied.set(element, count + 1);
    scope.originalValues.set(name, current);
    this.#writeField(binding, value);
  }

  /** Re-reads applied drafts into untouched fields (after page load, after the back/forward cache). */
  #reapplyDrafts(): void {
    for (const scope of this.#registry.liveScopes()) {
      if (scope.restored === 'none') this.#restoreScope(scope);
      else for (const binding of this.#registry.fieldsOf(scope)) this.#restoreField(binding);
    }
  }

  /** Another device's draft of `key`, asked of the server once a key and kind; undefined when none. */
  async #fetchDraft(key: string, kind: ChangeKind): Promise<Draft | undefined> {
    const checked = `${kind}:${key}`;
    if (!this.#syncEnabled || this.#options.restoreFromServer === false || this.#serverChecked.has(checked))
      return;
    this.#serverChecked.add(checked);
    // Offline or no endpoint: the device's copy (none) stands.
    const body = await this.#getJson(
      `${this.#options.draftsEndpoint ?? DRAFTS_PATH}?key=${encodeURIComponent(key)}`,
    );
    const drafts: unknown[] = isRecord(body) && Array.isArray(body.drafts) ? body.drafts : [body];
    return drafts.find(
      (candidate): candidate is Draft =>
        isRecord(candidate) && candidate.key === key && candidate.kind === kind,
    );
  }

  /** The server's JSON answer to a GET (the session cookie goes with it), or undefined when there is none. */
  async #getJson(url: string): Promise<unknown> {
    try {
      const response = await this.#fetch(url, { headers: { accept: 'application/json' } });
      return response.ok ? await response.json() : undefined;
    } catch {
      return undefined;
    }
  }

  async #restoreFromServer(scope: FormScope): Promise<void> {
    const draft = await this.#fetchDraft(scope.key, 'form');
    // The user may have started typing while the request was out: their input wins.
    if (draft === undefined || !isRecord(draft.data) || !this.#canSave() || this.#store.readMeta(scope.key))
      return;
    for (const [name, value] of Object.entries(draft.data)) {
      if (isFieldValue(value))
        this.#store.write(this.#store.fieldKey(scope.key, name), JSON.stringify(value));
    }
    this.#store.writeMeta(scope.key, { v: draft.baseVersion, t: Date.parse(draft.savedAt) || this.#now() });
    for (const live of this.#registry.liveScopes(scope.key)) this.#restoreScope(live, 'server');
  }

  /** Tells `key`'s listeners the value stored before they could read it, or asks the server for one. */
  #announceState(key: string): void {
    const state = this.#store.readState(key);
    if (state) this.#stateListeners.notify(key, state.value);
    else void this.#restoreStateFromServer(key);
  }

  async #restoreStateFromServer(key: string): Promise<void> {
    const draft = await this.#fetchDraft(key, 'state');
    // A value saved here while the request was out wins.
    if (draft?.data == null || !this.#canSave() || this.#store.readState(key)) return;
    this.#store.writeState(key, draft.data);
    this.#stateListeners.notify(key, draft.data);
  }

  // ---- page and tab events ------------------------------------------------------------------

  #listen(target: EventTarget, type: string, handler: (event: Event) => void, capture = false): void {
    target.addEventListener(type, handler, capture);
    this.#teardown.push(() => target.removeEventListener(type, handler, capture));
  }

  #onMutations(records: readonly MutationRecord[]): void {
    let elementAdded = false;
    // Between a restore's steps a field may show its framework's state for a moment, not the draft:
    // a field added then is checked on the next frame instead, when every step has run.
    const settled = this.#steps.length === 0;
    // Bindings are decided again at most once a callback, for a changed attribute or a field
    // inserted (perhaps moved: into an opted-out container, into another form).
    let invalidated = false;
    const invalidate = () => {
      if (invalidated) return;
      this.#registry.invalidate();
      invalidated = true;
    };
    for (const record of records) {
      if (record.type === 'attributes') {
        invalidate();
        continue;
      }
      for (const node of record.addedNodes) {
        if (!(node instanceof HTMLElement)) continue;
        if (node.closest('[data-autosave-notice]')) continue;
        // A status element may be in it: render() touches the DOM only where it shows something else.
        elementAdded = true;
        const scopes = matchingIn(node, SCOPE_SELECTOR);
        const fields = matchingIn(node, FIELD_SELECTOR);
        if (fields.length > 0) invalidate();
        for (const element of scopes) {
          this.#registry.recheckExclusion(element);
          const scope = this.#registry.scopeOf(element);
          if (scope !== null) this.#restoreScope(scope);
        }
        for (const field of fields) {
          const binding = this.#registry.bindingOf(field);
          if (binding === null) continue;
          if (settled) this.#restoreField(binding);
          else this.#hold();
        }
      }
    }
    if (elementAdded) this.#indicator.render();
    for (const [form, notice] of this.#notices) {
      if (form.isConnected) continue;
      notice.remove();
      this.#notices.delete(form);
    }
  }

  #onStorage(event: StorageEvent): void {
    const key = event.key;
    if (key === null || this.#signedOut) return;
    if (key === SIGNOUT_KEY) {
      // Any script of the page can write this key: what is not ours reads as no signal, not a throw.
      const signal = parseJson(event.newValue, isRecord);
      if (isRecord(signal) && signal.user === this.#userScope) {
        this.#store.clearScope();
        this.#endSession();
      }
      return;
    }
    if (!key.startsWith(this.#store.prefix)) return;
    const section = key.slice(this.#store.prefix.length);
    if (section.startsWith('p:')) {
      if (event.newValue === null) this.#queue.forgetMarker(key);
    } else if (section.startsWith('f:') && event.newValue !== null) {
      this.#showOtherTabEdit(section.slice(2), event.newValue);
    } else if (section.startsWith('s:')) {
      const stateKey = section.slice(2);
      this.#stateListeners.notify(stateKey, this.#store.readState(stateKey)?.value ?? null);
    } else if (section.startsWith('m:') && event.newValue === null) {
      for (const scope of this.#registry.liveScopes(section.slice(2))) this.#resetScope(scope);
    } else if (section === 'outbox' && event.newValue === null && !this.#queue.hasWork()) {
      this.#indicator.savedToServer(this.#now());
    }
  }

  /** Another tab typed into a form this tab shows: show its newer value instead of keeping a stale one. */
  #showOtherTabEdit(fieldPath: string, raw: string): void {
    const separator = fieldPath.indexOf('\u001f');
    const formKey = fieldPath.slice(0, separator);
    const name = fieldPath.slice(separator + 1);
    const value = parseFieldValue(raw);
    if (value === undefined) return;
    for (const scope of this.#registry.liveScopes(formKey)) {
      if (scope.restored === 'offered') continue;
      const binding = this.#registry.fieldsOf(scope).find((candidate) => candidate.name === name);
      if (binding) this.#writeField(binding, value);
    }
  }

  #onVisibilityChange(): void {
    if (this.#doc.visibilityState === 'hidden') this.#flushOnExit();
    else this.#keepaliveSentThrough = 0;
  }

  #onPageHide(): void {
    this.#hidden = true;
    // An open request keeps the page out of the back/forward cache; the keepalive send replaces it.
    this.#inFlight?.abort();
    this.#flushOnExit();
  }

  #onPageShow(event: PageTransitionEvent): void {
    this.#hidden = false;
    this.#keepaliveSentThrough = 0;
    if (!event.persisted || !this.#canSave()) return;
    // Restored from the back/forward cache: another tab may have signed out or edited meanwhile.
    if (this.#store.read(`${this.#store.prefix}cid`) === null) {
      this.#endSession();
      return;
    }
    this.#reapplyDrafts();
    if (this.#queue.hasWork()) void this.#sync(false);
  }

  // ---- syncing ------------------------------------------------------------------------------

  readonly #readChangeData = (kind: ChangeKind, key: string): ChangeData => {
    const now = this.#now();
    if (kind === 'state') {
      const state = this.#store.readState(key);
      return { data: state?.value ?? null, baseVersion: null, savedAt: state?.savedAt ?? now };
    }
    const meta = this.#store.readMeta(key);
    const fields = this.#store.readFields(key);
    const empty = meta === null && Object.keys(fields).length === 0;
    return { data: empty ? null : fields, baseVersion: meta?.v ?? null, savedAt: meta?.t ?? now };
  };

  /**
   * Sends what a closing page has, synchronously, with keepalive so the request outlives the page.
   * The batch is only what fits the browser's 64 KiB keepalive budget; the rest stays in the
   * persisted outbox for the next start. Ids are assigned (and persisted) before sending, so a
   * batch that also arrives through another path is answered `duplicate`, not applied twice.
   */
  #flushOnExit(): void {
    if (!this.#canSave() || !this.#syncEnabled) return;
    this.#logSavedForms();
    this.#debouncer.cancel();
    const outbox = this.#queue.assignPending(this.#readChangeData);
    const batch = takeWithinBytes(this.#clientId, outbox, KEEPALIVE_BODY_LIMIT_BYTES);
    const last = batch.at(-1)?.mutationId ?? 0;
    if (last <= this.#keepaliveSentThrough) return;
    this.#keepaliveSentThrough = last;
    void this.#post(batch, true).then((attempt) => {
      if (attempt.kind === 'accepted') this.#acceptResponse(attempt.response);
    });
  }

  #post(batch: readonly SyncChange[], keepalive: boolean, signal?: AbortSignal) {
    return sendChanges(this.#clientId, batch, {
      endpoint: this.#options.endpoint ?? SYNC_PATH,
      csrfToken: readCsrfToken(this.#doc),
      keepalive,
      fetch: this.#fetch,
      signal,
    });
  }

  #acceptResponse({ lastMutationId, results }: SyncResponse): void {
    for (const change of this.#queue.outbox())
      if (results.some((result) => result.mutationId === change.mutationId && result.status === 'stale'))
        this.#logger.warn(`Draft ${change.key} is based on an older version of the record`);
    this.#queue.acknowledge(lastMutationId);
  }

  /** Every caller while a send is running shares it (and its outcome). */
  async #sync(waitForOtherTab: boolean): Promise<SyncOutcome> {
    if (!this.#canSave()) return outcome('stopped');
    if (!this.#syncEnabled) return outcome('local-only');
    if (this.#view.navigator.onLine === false) {
      this.#indicator.set('offline');
      return outcome('offline');
    }
    this.#syncing ??= this.#lock
      .run(() => this.#drainQueue(), waitForOtherTab)
      .then((drained): SyncOutcome => {
        if (drained !== LOCK_BUSY) return drained;
        if (!this.#canSave()) return outcome('stopped');
        this.#scheduleRetry(BUSY_RETRY_MS);
        return outcome('busy');
      })
      .finally(() => {
        this.#syncing = undefined;
      });
    return this.#syncing;
  }

  #scheduleRetry(delayMs: number): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#sync(false), delayMs);
  }

  #retryLater(retryAfterMs: number | null): void {
    const delay = Math.max(
      retryAfterMs ?? 0,
      backoffDelay(this.#failures, this.#options.random ?? Math.random),
    );
    this.#failures += 1;
    this.#scheduleRetry(delay);
  }

  /** Runs holding the sender lock: sends the whole shared queue, batch after batch. */
  async #drainQueue(): Promise<SyncOutcome> {
    let synced = 0;
    /** After a 400 on a batch, changes go one by one to find (and park) the invalid one. */
    let isolate = 0;
    let gaps = 0;
    // Aborted when the page is left or the service stops; aborting it once its send is done changes nothing.
    const controller = new AbortController();
    this.#inFlight = controller;
    while (this.#canSave() && !this.#hidden) {
      const outbox = this.#queue.assignPending(this.#readChangeData);
      const first = outbox[0];
      if (first === undefined) break;
      // A storage problem stays on show while sending: "saving" would hide it from the user.
      if (this.#storageWarning === null) this.#indicator.set('saving');
      const batch =
        isolate > 0
          ? [first]
          : takeWithinBytes(this.#clientId, outbox.slice(0, MAX_CHANGES_PER_BATCH), MAX_SYNC_BODY_BYTES);
      if (batch.length === 0) {
        this.#reportParked(this.#queue.park(first.mutationId, 'larger than the server accepts'));
        continue;
      }
      const attempt = await this.#post(batch, false, controller.signal);
      // Signed out (here or in another tab) or stopped while the request was out: its answer,
      // an abort most likely, must neither replace "Signed out" nor schedule a retry.
      if (!this.#canSave()) return outcome('stopped', synced);
      switch (attempt.kind) {
        case 'accepted':
          this.#failures = 0;
          synced += attempt.response.synced;
          isolate = Math.max(0, isolate - 1);
          this.#acceptResponse(attempt.response);
          break;
        case 'gap':
          gaps += 1;
          if (gaps > 3) {
            this.#retryLater(null);
            return this.#finishDrain(synced, 'retrying');
          }
          this.#queue.reconcile(attempt.expectedMutationId);
          break;
        case 'rejected':
          if (batch.length > 1) isolate = batch.length;
          else this.#reportParked(this.#queue.park(first.mutationId, attempt.message));
          break;
        case 'unauthorized':
          this.#indicator.set('error', 'Not saved to the server: sign in again (kept on this device)');
          this.#retryLater(null);
          return outcome('unauthorized', synced);
        case 'retry':
          this.#retryLater(attempt.retryAfterMs);
          if (attempt.reason === 'network') this.#indicator.set('offline');
          else this.#indicator.set('error', 'Server unavailable: saved on this device, will retry');
          return outcome('retrying', synced);
      }
    }
    return this.#finishDrain(synced, synced > 0 ? 'synced' : 'nothing-to-sync');
  }

  #finishDrain(synced: number, result: SyncResult): SyncOutcome {
    if (synced > 0) this.#logger.info('Synced with backend');
    if (this.#canSave() && !this.#queue.hasWork() && result !== 'retrying') {
      if (this.#storageWarning !== null) this.#indicator.set('error', this.#storageWarning);
      else if (this.status.state !== 'idle' || synced > 0) this.#indicator.savedToServer(this.#now());
    }
    return outcome(result, synced);
  }

  #reportParked(parked: ParkedChange | null): void {
    if (parked === null) return;
    this.#logger.error(`The server refused the draft ${parked.change.key}: ${parked.reason}`, parked.change);
    this.#indicator.set('error', `Some changes could not be saved to the server (${parked.change.key})`);
  }
}

/** Creates the service; call `start()` to bind the page. The bundled script does both on load. */
export function createAutoSaveService(options: AutoSaveOptions = {}): AutoSaveService {
  return new BrowserAutoSaveService(options);
}

export type { SyncChange };
