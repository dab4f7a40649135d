/**
 * Which fields are never stored. Kept as a pure function over a field's traits so the rules can be
 * tested without a DOM; `fieldTraitsOf` is the one place that reads them from an element.
 */

export type ExclusionReason =
  | 'opted-out'
  | 'not-a-value'
  | 'password'
  | 'file'
  | 'hidden'
  | 'sensitive-autocomplete'
  | 'csrf-token'
  | 'unnamed';

export interface FieldTraits {
  /** Lower-case tag name: input, textarea, select, or any tag for contenteditable regions. */
  readonly tag: string;
  /** Lower-case input type ('' for non-inputs). */
  readonly type: string;
  readonly autocomplete: string;
  readonly name: string;
  /** The field, its form or an ancestor carries `data-autosave="off"`. */
  readonly optedOut: boolean;
}

const BUTTON_TYPES = new Set(['submit', 'button', 'reset', 'image']);
/**
 * autocomplete tokens whose values must never be written anywhere (cards, OTPs, new passwords),
 * found anywhere in the whitespace-separated list.
 */
const SENSITIVE_AUTOCOMPLETE = /(^|\s)(cc-\S*|one-time-code|new-password|current-password)(\s|$)/;
/**
 * Anti-forgery tokens are usually hidden, but some apps render them as visible or readonly
 * inputs; restoring a stale one over the page's fresh token would break the next submit. Matched
 * in any letter case. A set, not a regular expression: a restore checks every field's name, and a
 * page's first regular expression costs ~0.2 ms to set up.
 */
const CSRF_NAMES = new Set(
  '_csrf csrf csrftoken csrf-token csrf_token _token authenticity_token xsrftoken xsrf-token xsrf_token __requestverificationtoken'.split(
    ' ',
  ),
);

export function exclusionReason(field: FieldTraits): ExclusionReason | null {
  if (field.optedOut) return 'opted-out';
  if (field.tag === 'input') {
    if (BUTTON_TYPES.has(field.type)) return 'not-a-value';
    // The reason is the type's own name.
    if (field.type === 'password' || field.type === 'file' || field.type === 'hidden') return field.type;
  }
  // Most fields have no autocomplete attribute: no regular expression runs for them (a restore binds
  // them all, and a page's first one costs ~0.2 ms to set up).
  if (field.autocomplete !== '' && SENSITIVE_AUTOCOMPLETE.test(field.autocomplete.toLowerCase()))
    return 'sensitive-autocomplete';
  if (CSRF_NAMES.has(field.name.toLowerCase())) return 'csrf-token';
  if (field.name === '') return 'unnamed';
  return null;
}

/** `owner`: the field's form, when it has one (`form=` can attach a field to a form it is not inside). */
export function fieldTraitsOf(
  element: HTMLElement,
  name: string,
  owner: HTMLFormElement | null,
): FieldTraits {
  return {
    tag: element.localName,
    // The type property is already lower case (an unknown type reads as "text").
    type: element instanceof HTMLInputElement ? element.type : '',
    autocomplete: element.getAttribute('autocomplete') ?? '',
    name,
    optedOut:
      element.closest('[data-autosave="off"]') !== null || owner?.getAttribute('data-autosave') === 'off',
  };
}
