/**
 * Reading and writing every kind of field as a JSON value:
 * text-like inputs, number/date/range/color → string; textarea → string; single select → string;
 * multi-select and checkbox groups (several checkboxes sharing a name) → string[];
 * a lone checkbox → boolean; radio group → the checked value ('' when none);
 * `[contenteditable][data-autosave-field]` → its (sanitized) HTML.
 */
import { sanitizeHtmlInto } from './html-sanitizer.js';
import { parseJson } from './json.js';

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
  if (element instanceof HTMLInputElement) {
    const type = element.type;
    return type === 'checkbox' || type === 'radio' ? type : 'value';
  }
  if (element instanceof HTMLSelectElement) return element.multiple ? 'multiple' : 'select';
  return element instanceof HTMLTextAreaElement ? 'value' : 'html';
}

export function readFieldValue(element: HTMLElement, scope: HTMLElement, kind: FieldKind): FieldValue {
  switch (kind) {
    case 'checkbox': {
      const group = groupOf(element as HTMLInputElement, scope);
      if (group.length === 1) return (element as HTMLInputElement).checked;
      return group.filter((box) => box.checked).map((box) => box.value);
    }
    case 'radio':
      return groupOf(element as HTMLInputElement, scope).find((radio) => radio.checked)?.value ?? '';
    case 'multiple':
      return Array.from((element as HTMLSelectElement).selectedOptions, (option) => option.value);
    case 'html':
      return element.innerHTML;
    default:
      return (element as FieldElement).value;
  }
}

/**
 * Writes a stored value into a field. Returns whether anything changed, so callers only fire
 * events (and frameworks only re-render) for fields that really moved. Values of the wrong shape
 * (a list for a text field, say, after the page changed) are ignored rather than coerced.
 */
export function writeFieldValue(
  element: HTMLElement,
  scope: HTMLElement,
  value: FieldValue,
  kind: FieldKind,
): boolean {
  let changed = false;
  if (kind === 'checkbox' || kind === 'radio') {
    const group = groupOf(element as HTMLInputElement, scope);
    for (const box of group) {
      const checked =
        typeof value === 'boolean'
          ? group.length === 1 && value
          : Array.isArray(value)
            ? value.includes(box.value)
            : box.value === value;
      if (box.checked !== checked) {
        box.checked = checked;
        changed = true;
      }
    }
  } else if (kind === 'multiple') {
    if (!Array.isArray(value)) return false;
    for (const option of [...(element as HTMLSelectElement).options]) {
      const selected = value.includes(option.value);
      if (option.selected !== selected) {
        option.selected = selected;
        changed = true;
      }
    }
  } else if (typeof value === 'string') {
    if (kind !== 'html') {
      changed = (element as FieldElement).value !== value;
      if (changed) (element as FieldElement).value = value;
    } else if (element.innerHTML !== value) {
      sanitizeHtmlInto(element, value);
      changed = true;
    }
  }
  return changed;
}

/** Structural equality of two field values (order matters for lists: option order is stable). */
export function sameFieldValue(left: FieldValue | undefined, right: FieldValue | undefined): boolean {
  if (Array.isArray(left) && Array.isArray(right)) {
    return left.length === right.length && left.every((item, index) => item === right[index]);
  }
  return left === right;
}

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
