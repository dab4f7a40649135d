/**
 * Writing a field the way a user's input reaches a framework's state (React, Preact, Vue, Svelte),
 * not only its DOM: frameworks learn of a value through the events they listen to, and React also
 * through the value it last saw.
 */

/**
 * Sets `value` or `checked` through the element's own class (`HTMLInputElement.prototype`'s setter,
 * say), not through what a framework defined on the element itself. React replaces both on each
 * node it renders with a tracker that remembers the last value set by script, and takes an event
 * whose value equals it for no change: a value set the plain way shows in the field but never
 * reaches React's state, and the next render wipes it.
 */
export function setNative(
  element: HTMLElement,
  property: 'value' | 'checked',
  value: string | boolean,
): void {
  // A restore sets each field twice (field-values.ts): the second time it mostly shows the value already.
  if ((element as unknown as Record<string, unknown>)[property] === value) return;
  // No own property (no React tracker on it): a plain write reaches the same setter, far cheaper.
  if (!Object.hasOwn(element, property)) {
    Reflect.set(element, property, value);
    return;
  }
  const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(element), property)?.set;
  if (setter) setter.call(element, value);
  else Reflect.set(element, property, value);
}

function fire(element: HTMLElement, types: readonly string[]): void {
  for (const type of types) element.dispatchEvent(new Event(type, { bubbles: true }));
}

/**
 * What typing into a field and leaving it fires: `input` (React's onChange, Preact's onInput, Vue's
 * v-model, Svelte's bind:value) then `change` (a select's listeners, Vue's `v-model.lazy`).
 */
export function emitTyped(element: HTMLElement): void {
  fire(element, ['input', 'change']);
}

/**
 * What clicking a checkbox or radio fires. React follows both through `click` (a plain Event, not a
 * MouseEvent: a MouseEvent would run the box's activation and toggle it back), Vue, Svelte and
 * Preact through `change`.
 */
export function emitClicked(element: HTMLElement): void {
  fire(element, ['click', 'input', 'change']);
}
