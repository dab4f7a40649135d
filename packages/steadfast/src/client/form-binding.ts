/**
 * Which element is a field of which draft. A "scope" is a form, or any element with
 * `data-autosave-key` that is not inside a form (for contenteditable regions and form-less UIs).
 * Bindings are cached per element so a keystroke costs one property read, not a DOM walk; the
 * cache is dropped when attributes that decide exclusion or keys change.
 */
import { exclusionReason, fieldTraitsOf } from './exclusion-rules.js';
import {
  type FieldElement,
  type FieldKind,
  type FieldValue,
  fieldKindOf,
  fieldNameOf,
} from './field-values.js';
import { formKeyOf } from './form-key.js';
import type { LocalStore } from './local-store.js';

const EDITABLE_SELECTOR = '[data-autosave-field][contenteditable]';
export const FIELD_SELECTOR = `input,textarea,select,${EDITABLE_SELECTOR}`;
export const SCOPE_SELECTOR = 'form,[data-autosave-key]';
/** Attributes whose change can alter a binding; watched by the service's MutationObserver. */
export const BINDING_ATTRIBUTES = [
  'id',
  'name',
  'type',
  'autocomplete',
  'data-autosave',
  'data-autosave-key',
  'form',
  'multiple',
];

export type RestoreState = 'none' | 'applied' | 'offered' | 'discarded';

export interface FormScope {
  readonly element: HTMLElement;
  readonly key: string;
  /** `data-autosave-version`: the version of the record the page rendered, if any. */
  readonly version: number | null;
  /** When this page last wrote the draft's meta; 0 = not since the draft was (re)created. */
  metaWrittenAt: number;
  /** Fields the user changed on this page: a restore or another tab's edit never overwrites them. */
  readonly editedFields: Set<string>;
  restored: RestoreState;
  /** What the fields held before a draft was applied, so "discard" can put it back. */
  originalValues: Map<string, FieldValue>;
}

export interface FieldBinding {
  readonly element: HTMLElement;
  readonly scope: FormScope;
  readonly name: string;
  readonly storageKey: string;
  readonly kind: FieldKind;
}

interface CachedBinding {
  readonly generation: number;
  readonly binding: FieldBinding | null;
}

function readVersion(element: HTMLElement): number | null {
  // No attribute reads as NaN, an empty one as 0.
  const version = Number(element.dataset.autosaveVersion);
  return Number.isSafeInteger(version) && version >= 0 ? version : null;
}

function isExcludedScope(element: HTMLElement): boolean {
  return element.closest('[data-autosave="off"]') !== null || element.hasAttribute('data-autosave-signout');
}

export class FormRegistry {
  readonly #scopes = new WeakMap<HTMLElement, FormScope | null>();
  /**
   * Bindings are cached on the element itself, under a key of this registry: a restore binds every
   * field, and a property costs a fraction of a WeakMap entry (as React keeps its fiber on the node).
   */
  readonly #cacheKey = Symbol();
  /** Cached bindings of older generations are stale (see invalidate). */
  #generation = 0;
  /** Each scope's fields as fieldsOf last found them, in the generation it found them. */
  readonly #fieldLists = new WeakMap<FormScope, { generation: number; fields: readonly FieldBinding[] }>();

  readonly #root: Document;
  readonly #store: LocalStore;

  constructor(root: Document, store: LocalStore) {
    this.#root = root;
    this.#store = store;
  }

  /** Forgets cached bindings and field lists (a field came or went, or an attribute that decides them changed). Scopes keep their state. */
  invalidate(): void {
    this.#generation += 1;
  }

  scopeOf(element: HTMLElement): FormScope | null {
    let scope = this.#scopes.get(element);
    if (scope !== undefined) return scope;
    scope = isExcludedScope(element)
      ? null
      : {
          element,
          key: formKeyOf(element, this.#root.URL),
          version: readVersion(element),
          metaWrittenAt: 0,
          editedFields: new Set(),
          restored: 'none',
          originalValues: new Map(),
        };
    this.#scopes.set(element, scope);
    return scope;
  }

  /**
   * A scope element was inserted (perhaps moved): it is opted out, or back in, by where it now is.
   * A scope still saved keeps its state.
   */
  recheckExclusion(element: HTMLElement): void {
    const cached = this.#scopes.get(element);
    if (cached === undefined) return;
    if (isExcludedScope(element)) this.#scopes.set(element, null);
    else if (cached === null) this.#scopes.delete(element);
  }

  /** The binding of an event target, or null when it is not a field we save. */
  bindingOf(target: EventTarget | null, scopeHint?: FormScope): FieldBinding | null {
    if (target === null) return null;
    const holder = target as EventTarget & { [key: symbol]: CachedBinding | undefined };
    const cached = holder[this.#cacheKey];
    if (cached?.generation === this.#generation) return cached.binding;
    const binding = this.#createBinding(target, scopeHint);
    // Reflect.set: a node a page made non-extensible is then bound on every event, never failing one.
    Reflect.set(holder, this.#cacheKey, { generation: this.#generation, binding });
    return binding;
  }

  /** `scopeHint`: the scope the caller is binding, which spares a lookup for each of its fields. */
  #createBinding(target: EventTarget, scopeHint?: FormScope): FieldBinding | null {
    if (!(target instanceof HTMLElement)) return null;
    // The kind first: its type checks also tell a form control from a contenteditable region.
    const kind = fieldKindOf(target);
    const field = kind !== 'html';
    const element = field ? target : target.closest<HTMLElement>(EDITABLE_SELECTOR);
    if (element === null) return null;
    // A control's scope is its form (also via form=), else the nearest keyed container.
    const owner = field ? (target as FieldElement).form : null;
    const scopeElement = owner ?? element.closest<HTMLElement>(SCOPE_SELECTOR);
    const scope =
      scopeElement === scopeHint?.element ? scopeHint : scopeElement ? this.scopeOf(scopeElement) : null;
    if (!scope) return null;
    const name = fieldNameOf(element);
    if (exclusionReason(fieldTraitsOf(element, name, owner)) !== null) return null;
    return { element, scope, name, storageKey: this.#store.fieldKey(scope.key, name), kind };
  }

  /**
   * One binding per field name of a scope (a checkbox or radio group is read and written whole).
   * Kept until a field or an attribute that decides bindings changes (see invalidate): a hold reads
   * every field of a restored form each frame for seconds.
   */
  fieldsOf(scope: FormScope): readonly FieldBinding[] {
    const cached = this.#fieldLists.get(scope);
    if (cached?.generation === this.#generation) return cached.fields;
    const element = scope.element;
    const candidates =
      element instanceof HTMLFormElement
        ? [...element.elements, ...element.querySelectorAll(EDITABLE_SELECTOR)]
        : [...element.querySelectorAll(FIELD_SELECTOR)];
    const byName = new Map<string, FieldBinding>();
    for (const candidate of candidates) {
      const binding = this.bindingOf(candidate, scope);
      if (binding !== null && binding.scope === scope && !byName.has(binding.name))
        byName.set(binding.name, binding);
    }
    const fields = [...byName.values()];
    this.#fieldLists.set(scope, { generation: this.#generation, fields });
    return fields;
  }

  /** Scopes currently in the page, optionally only those of one key. */
  liveScopes(key?: string): FormScope[] {
    const found: FormScope[] = [];
    for (const element of this.#root.querySelectorAll<HTMLElement>(SCOPE_SELECTOR)) {
      // A keyed container inside a form is part of that form's draft, not a scope of its own.
      if (!(element instanceof HTMLFormElement) && element.parentElement?.closest('form')) continue;
      const scope = this.scopeOf(element);
      if (scope !== null && (key === undefined || scope.key === key)) found.push(scope);
    }
    return found;
  }
}
