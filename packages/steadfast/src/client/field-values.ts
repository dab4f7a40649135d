/**
 * Reading and writing every kind of field as a JSON value:
 * text-like inputs, number/date/range/color → string; textarea → string; single select → string;
 * multi-select and checkbox groups (several checkboxes sharing a name) → string[];
 * a lone checkbox → boolean; radio group → the checked value ('' when none);
 * `[contenteditable][data-autosave-field]` → its (sanitized) HTML.
 */
import { sameJsonValue } from '../protocol/three-way-merge.js';
import { sanitizeHtmlInto } from './html-sanitizer.js';
import { parseJson } from './json.js';
import { emitClicked, emitTyped, setNative } from './user-input.js';

export type FieldValue = string | boolean | string[];
export type FieldElement = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

/**
 * A field's storage name: `name`, else `id`, else `data-autosave-field` (an empty attribute counts
 * as none). Properties, not getAttribute: a restore names every field of the page.
 */
export function fieldNameOf(element: HTMLElement): string {
  return (element as FieldElement).name || element.id || (element.getAttribute('data-autosave-field') ?? '');
}

/** The checkboxes or radios of one group inside a scope (a form or a keyed container). */
function groupOf(element: HTMLInputElement, scope: HTMLElement): HTMLInputElement[] {
  if (element.name === '') return [element];
  const type = element.type;
  // form.elements also finds fields attached with form=…; containers fall back to a query.
  const candidates = [
    ...(element.form?.elements ?? scope.querySelectorAll(`input[name="${CSS.escape(element.name)}"]`)),
  ];
  return candidates.filter(
    (candidate): candidate is HTMLInputElement =>
      candidate instanceof HTMLInputElement && candidate.type === type && candidate.name === element.name,
  );
}

/**
 * How a field is read and written. Decided once per binding: a restore reads and writes every field,
 * and reading `type` or `multiple` again for each step costs more than the step.
 */
export type FieldKind = 'value' | 'select' | 'multiple' | 'checkbox' | 'radio' | 'html';

export function fieldKindOf(element: HTMLElement): FieldKind {
  const tag = element.localName;
  if (tag === 'input') {
    const type = (element as HTMLInputElement).type;
    return type === 'checkbox' || type === 'radio' ? type : 'value';
  }
  if (tag === 'select') return (element as HTMLSelectElement).multiple ? 'multiple' : 'select';
  return tag === 'textarea' ? 'value' : 'html';
}

/** A field as read and written: its element, its kind, and the scope its group is found in. */
export interface FieldRef {
  readonly element: HTMLElement;
  readonly kind: FieldKind;
  readonly scope: { readonly element: HTMLElement };
}

export function readFieldValue({ element, kind, scope }: FieldRef): FieldValue {
  switch (kind) {
    case 'checkbox': {
      const group = groupOf(element as HTMLInputElement, scope.element);
      if (group.length === 1) return (element as HTMLInputElement).checked;
      return group.filter((box) => box.checked).map((box) => box.value);
    }
    case 'radio':
      return groupOf(element as HTMLInputElement, scope.element).find((radio) => radio.checked)?.value ?? '';
    case 'multiple':
      return Array.from((element as HTMLSelectElement).selectedOptions, (option) => option.value);
    case 'html':
      return element.innerHTML;
    default:
      return (element as FieldElement).value;
  }
}

/**
 * Writes a stored value into a field the way a user's input would reach the page's framework (see
 * user-input.ts). Returns whether anything changed. Values of the wrong shape (a list for a text
 * field, say, after the page changed) are ignored rather than coerced.
 *
 * Each element that moves is set at once, so the page shows the value right away, and set again in
 * a step handed to `later`, just before its events. The caller runs each step after the microtasks
 * queued before it, as a user's separate inputs arrive: a framework that renders after a microtask
 * (Preact, Vue, Svelte) then reads each event with its state up to date (a handler spreading the
 * state object it rendered with, Vue's v-model keeping a checkbox group as one list), and a render
 * between two steps that put its state back into a field is undone by that field's own step.
 */
export function writeFieldValue(
  { element, kind, scope }: FieldRef,
  value: FieldValue,
  later: (step: () => void) => void,
): boolean {
  const move = (target: HTMLElement, set: () => void, emit: (target: HTMLElement) => void) => {
    set();
    later(() => {
      set();
      emit(target);
    });
  };
  if (kind === 'radio') {
    const group = groupOf(element as HTMLInputElement, scope.element);
    const chosen = group.find((radio) => radio.value === value);
    if (chosen) {
      if (chosen.checked) return false;
      move(chosen, () => setNative(chosen, 'checked', true), emitClicked);
      return true;
    }
    // No radio chosen: the checked one is cleared without events, since no user action unchecks a
    // radio and frameworks take any event on a radio for "this one was chosen".
    const checked = group.find((radio) => radio.checked);
    if (checked) setNative(checked, 'checked', false);
    return checked !== undefined;
  }
  if (kind === 'checkbox') {
    const group = groupOf(element as HTMLInputElement, scope.element);
    let changed = false;
    for (const box of group) {
      const checked =
        typeof value === 'boolean'
          ? group.length === 1 && value
          : Array.isArray(value) && value.includes(box.value);
      if (box.checked === checked) continue;
      move(box, () => setNative(box, 'checked', checked), emitClicked);
      changed = true;
    }
    return changed;
  }
  if (kind === 'multiple') {
    if (!Array.isArray(value)) return false;
    const options = (element as HTMLSelectElement).options;
    if ([...options].every((option) => option.selected === value.includes(option.value))) return false;
    const select = () => {
      for (const option of options) option.selected = value.includes(option.value);
    };
    move(element, select, emitTyped);
    return true;
  }
  if (typeof value !== 'string') return false;
  if (kind === 'html') {
    if (element.innerHTML === value) return false;
    sanitizeHtmlInto(element, value);
    later(() => element.dispatchEvent(new Event('input', { bubbles: true })));
    return true;
  }
  if ((element as FieldElement).value === value) return false;
  move(element, () => setNative(element, 'value', value), emitTyped);
  return true;
}

/**
 * Structural equality of two field values (order matters for lists: option order is stable): the
 * protocol's JSON equality, which the merge uses too.
 */
export const sameFieldValue: (left: FieldValue | undefined, right: FieldValue | undefined) => boolean =
  sameJsonValue;

export function isFieldValue(value: unknown): value is FieldValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (Array.isArray(value) && value.every((item) => typeof item === 'string'))
  );
}

/** A stored value parsed back; anything that is not a FieldValue (tampered storage) is dropped. */
export function parseFieldValue(raw: string | null): FieldValue | undefined {
  return parseJson(raw, isFieldValue) ?? undefined;
}
