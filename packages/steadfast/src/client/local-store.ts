/**
 * Drafts on this device, in localStorage, under one prefix per user so another user of the same
 * browser never reads them. localStorage is used (not IndexedDB) because its writes are
 * synchronous: the keystroke's handler returns with the value already handed to the browser
 * process, so a tab closed or crashed right after survives.
 *
 * Layout under `steadfast:v1:<user>:` — one entry per field, so a keystroke writes only what
 * changed and its cost does not grow with the form:
 *   f:<formKey>\u001f<field>  the field's JSON value
 *   m:<formKey>               FormMeta: base version, savedAt, expiry, submit pending
 *   s:<key>                   a saveState value
 *   p:<kind>:<key>            "changed since last sync" marker (see sync-queue.ts)
 *   outbox, mid, cid, parked  the sync queue (see sync-queue.ts)
 */
import type { SyncChange } from '../protocol/sync.js';
import type { FieldValue } from './field-values.js';
import { parseFieldValue } from './field-values.js';
import { isRecord, parseJson } from './json.js';

export type JsonValue = NonNullable<SyncChange['data']>;

export const STORAGE_ROOT = 'steadfast:v1:';
/** Written (never read back as data) to tell other tabs a user signed out. */
export const SIGNOUT_KEY = `${STORAGE_ROOT}signout`;
const FIELD_SEPARATOR = '\u001f';

export interface FormMeta {
  /** Version of the record the form was loaded from (`data-autosave-version`), if any. */
  readonly v: number | null;
  /** When the draft last changed (ms since epoch). */
  readonly t: number;
  /** When the draft expires (ms since epoch). */
  readonly e: number;
  /** Set when the form was submitted; the draft stays until the server confirms the submit. */
  readonly s?: number;
}

interface StoredState {
  readonly d: JsonValue;
  readonly t: number;
  readonly e: number;
}

export type StorageProblem =
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'quota'; readonly evictedDrafts: number; readonly keptInMemoryOnly: boolean };

export interface LocalStoreOptions {
  readonly ttlMs: number;
  readonly now: () => number;
  readonly onProblem: (problem: StorageProblem) => void;
}

export function isQuotaError(error: unknown): boolean {
  return isRecord(error) && error.name === 'QuotaExceededError';
}

export function scopePrefix(userScope: string): string {
  return `${STORAGE_ROOT}${encodeURIComponent(userScope)}:`;
}

export function isFormMeta(value: unknown): value is FormMeta {
  return isRecord(value) && typeof value.t === 'number' && typeof value.e === 'number';
}

/** A state is stamped like a meta (time `t`, expiry `e`), with its data in `d`. */
function isStoredState(value: unknown): value is StoredState {
  return isFormMeta(value) && 'd' in value;
}

export class LocalStore {
  readonly prefix: string;
  /** Writes the browser refused (full or blocked storage), kept for this tab's lifetime; null = removed. */
  readonly #memory = new Map<string, string | null>();
  /** Set once eviction found nothing more to drop, so later keystrokes skip the costly scan. */
  #exhausted = false;

  readonly #backend: Storage | null;
  readonly #options: LocalStoreOptions;

  constructor(backend: Storage | null, userScope: string, options: LocalStoreOptions) {
    this.#backend = backend;
    this.#options = options;
    this.prefix = scopePrefix(userScope);
  }

  read(key: string): string | null {
    const kept = this.#memory.get(key);
    if (kept !== undefined) return kept;
    try {
      return this.#backend?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }

  /**
   * Writes through to localStorage. When the browser refuses (quota), the oldest other drafts are
   * dropped and the write retried; if it still does not fit, the value is kept in memory so the
   * user keeps working, and the problem is reported. Returns whether the value reached storage.
   */
  write(key: string, value: string, protectedFormKey?: string): boolean {
    if (this.#backend !== null) {
      try {
        this.#backend.setItem(key, value);
        this.#memory.delete(key);
        return true;
      } catch (error) {
        if (!isQuotaError(error)) throw error;
      }
      const evicted = this.#exhausted ? 0 : this.#evictUntilWritten(key, value, protectedFormKey);
      if (evicted > 0) {
        this.#memory.delete(key);
        this.#options.onProblem({ kind: 'quota', evictedDrafts: evicted, keptInMemoryOnly: false });
        return true;
      }
      this.#exhausted = true;
      this.#options.onProblem({ kind: 'quota', evictedDrafts: 0, keptInMemoryOnly: true });
    }
    this.#memory.set(key, value);
    return false;
  }

  remove(key: string): void {
    if (this.#memory.has(key)) this.#memory.set(key, null);
    try {
      this.#backend?.removeItem(key);
      this.#exhausted = false;
    } catch {
      // A blocked storage has nothing to remove.
    }
  }

  /** Every key, in localStorage and in the memory overlay. */
  keys(): string[] {
    const found = new Set<string>();
    try {
      const backend = this.#backend;
      // key(i) in index order: Chromium serves sequential reads from a cached iterator.
      if (backend)
        for (let index = 0; index < backend.length; index += 1) found.add(backend.key(index) ?? '');
      found.delete('');
    } catch {
      // Blocked storage: only the overlay.
    }
    for (const [key, value] of this.#memory) {
      if (value === null) found.delete(key);
      else found.add(key);
    }
    return [...found];
  }

  ownKeys(section: string): string[] {
    const start = this.prefix + section;
    return this.keys().filter((key) => key.startsWith(start));
  }

  fieldKey(formKey: string, fieldName: string): string {
    return `${this.prefix}f:${formKey}${FIELD_SEPARATOR}${fieldName}`;
  }

  metaKey(formKey: string): string {
    return `${this.prefix}m:${formKey}`;
  }

  readMeta(formKey: string): FormMeta | null {
    const meta = parseJson(this.read(this.metaKey(formKey)), isFormMeta);
    if (meta && meta.e < this.#options.now()) {
      this.clearForm(formKey);
      return null;
    }
    return meta;
  }

  writeMeta(formKey: string, meta: Omit<FormMeta, 'e'>): void {
    const stamped: FormMeta = { ...meta, e: meta.t + this.#options.ttlMs };
    this.write(this.metaKey(formKey), JSON.stringify(stamped), formKey);
  }

  /** All stored fields of a form (a scan: for syncing and diffing, never per keystroke). */
  readFields(formKey: string): Record<string, FieldValue> {
    const start = this.fieldKey(formKey, '');
    const fields: Record<string, FieldValue> = {};
    for (const key of this.keys()) {
      if (!key.startsWith(start)) continue;
      const value = parseFieldValue(this.read(key));
      if (value !== undefined) fields[key.slice(start.length)] = value;
    }
    return fields;
  }

  clearForm(formKey: string): void {
    this.#clearFormOfAnyScope(this.prefix, formKey);
  }

  stateKey(key: string): string {
    return `${this.prefix}s:${key}`;
  }

  readState(key: string): { readonly value: JsonValue; readonly savedAt: number } | null {
    const stored = parseJson(this.read(this.stateKey(key)), isStoredState);
    if (!stored || stored.e < this.#options.now()) return null;
    return { value: stored.d, savedAt: stored.t };
  }

  writeState(key: string, value: JsonValue): void {
    const now = this.#options.now();
    const stored: StoredState = { d: value, t: now, e: now + this.#options.ttlMs };
    this.write(this.stateKey(key), JSON.stringify(stored));
  }

  /** Drops expired drafts and states of every user of this browser. */
  purgeExpired(): void {
    const now = this.#options.now();
    for (const entry of this.#entriesOfAllUsers()) {
      if (entry.meta.e >= now) continue;
      if (entry.section === 's') this.remove(entry.storageKey);
      else this.#clearFormOfAnyScope(entry.prefix, entry.key);
    }
  }

  /** Removes everything of this user: drafts, states and the queue (sign-out). */
  clearScope(): void {
    for (const key of this.ownKeys('')) this.remove(key);
  }

  /** Every user's draft metas (`m:`) and states (`s:`), parsed. */
  #entriesOfAllUsers() {
    const found = [];
    for (const storageKey of this.keys()) {
      if (!storageKey.startsWith(STORAGE_ROOT)) continue;
      const colon = storageKey.indexOf(':', STORAGE_ROOT.length);
      const section = storageKey.slice(colon + 1, colon + 2);
      // Field values far outnumber metas and states: only the latter are read and parsed.
      if (storageKey[colon + 2] !== ':' || (section !== 'm' && section !== 's')) continue;
      const meta = parseJson(this.read(storageKey), isFormMeta);
      if (!meta) continue;
      found.push({
        storageKey,
        prefix: storageKey.slice(0, colon + 1),
        section,
        key: storageKey.slice(colon + 3),
        meta,
      });
    }
    return found;
  }

  #clearFormOfAnyScope(prefix: string, formKey: string): void {
    const fieldStart = `${prefix}f:${formKey}${FIELD_SEPARATOR}`;
    for (const key of this.keys()) if (key.startsWith(fieldStart)) this.remove(key);
    this.remove(`${prefix}m:${formKey}`);
  }

  /**
   * Drops the oldest drafts until the write fits: any user's, but never `protectedFormKey` and
   * never a draft of this user still waiting for the server (it has a marker), which would lose
   * exactly what the user just typed.
   */
  #evictUntilWritten(key: string, value: string, protectedFormKey: string | undefined): number {
    const isOwnPending = (formKey: string) =>
      formKey === protectedFormKey || this.read(`${this.prefix}p:form:${formKey}`) !== null;
    const candidates = this.#entriesOfAllUsers()
      .filter((entry) => entry.section === 'm' && !(entry.prefix === this.prefix && isOwnPending(entry.key)))
      .sort((left, right) => left.meta.t - right.meta.t);
    let evicted = 0;
    for (const candidate of candidates) {
      this.#clearFormOfAnyScope(candidate.prefix, candidate.key);
      evicted += 1;
      try {
        this.#backend?.setItem(key, value);
        return evicted;
      } catch (error) {
        if (!isQuotaError(error)) throw error;
      }
    }
    return 0;
  }
}

/** localStorage, or null where the browser blocks it (some private modes, sandboxed frames). */
export function openBrowserStorage(view: Window): Storage | null {
  try {
    // The getter throws where storage is blocked; reading length proves it answers.
    const storage = view.localStorage;
    return storage.length >= 0 ? storage : null;
  } catch {
    return null;
  }
}
