/**
 * The browser service's form-observing layer (see service-core.ts): what comes and goes on the page
 * after start — a form or a field added (a client-side route, a row the user added) is bound and
 * restored, one moved (into an opted-out container, into another form) is bound again, a status
 * element added is rendered, and a notice whose form left the page goes with it.
 */
import { BINDING_ATTRIBUTES, FIELD_SELECTOR, SCOPE_SELECTOR } from './form-binding.js';
import { Restorer } from './restorer.js';

const holdsField = (node: Node): boolean =>
  node instanceof HTMLElement &&
  (node.matches(FIELD_SELECTOR) || node.querySelector(FIELD_SELECTOR) !== null);

/** `node` and the elements inside it that match `selector`. */
const matchingIn = (node: HTMLElement, selector: string): HTMLElement[] => [
  ...(node.matches(selector) ? [node] : []),
  ...node.querySelectorAll<HTMLElement>(selector),
];

export abstract class FormObserver extends Restorer {
  #observer: MutationObserver | undefined;

  protected observeForms(): void {
    this.#observer = new MutationObserver((records) => this.#onMutations(records));
    this.#observer.observe(this.doc, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: BINDING_ATTRIBUTES,
    });
  }

  protected stopObserving(): void {
    this.#observer?.disconnect();
  }

  #onMutations(records: readonly MutationRecord[]): void {
    let elementAdded = false;
    // Between a restore's steps a field may show its framework's state for a moment, not the draft:
    // a field added then is checked on the next frame instead, when every step has run.
    const settled = this.steps.length === 0;
    // Bindings are decided again at most once a callback, for a changed attribute or a field
    // inserted (perhaps moved: into an opted-out container, into another form).
    let invalidated = false;
    const invalidate = () => {
      if (invalidated) return;
      this.registry.invalidate();
      invalidated = true;
    };
    for (const record of records) {
      if (record.type === 'attributes') {
        invalidate();
        continue;
      }
      // A field gone leaves its form's list of fields.
      if (!invalidated && [...record.removedNodes].some(holdsField)) invalidate();
      for (const node of record.addedNodes) {
        if (!(node instanceof HTMLElement)) continue;
        if (node.closest('[data-autosave-notice]')) continue;
        // A status element may be in it: render() touches the DOM only where it shows something else.
        elementAdded = true;
        const scopes = matchingIn(node, SCOPE_SELECTOR);
        const fields = matchingIn(node, FIELD_SELECTOR);
        if (fields.length > 0) invalidate();
        for (const element of scopes) {
          this.registry.recheckExclusion(element);
          const scope = this.registry.scopeOf(element);
          if (scope !== null) this.restoreScope(scope);
        }
        for (const field of fields) {
          const binding = this.registry.bindingOf(field);
          if (binding === null) continue;
          if (settled) this.restoreField(binding);
          else this.hold();
        }
      }
    }
    if (elementAdded) this.indicator.render();
    for (const [form, notice] of this.notices) {
      if (form.isConnected) continue;
      notice.remove();
      this.notices.delete(form);
    }
  }
}
