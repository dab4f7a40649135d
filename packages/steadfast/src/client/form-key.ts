/**
 * The key a form's draft is stored and synced under. DESIGN.md fixes the order: the form's `id`,
 * else its `data-autosave-key`, else its action path.
 */
import { MAX_KEY_LENGTH } from '../protocol/constants.js';

/** Mirrors the protocol's key schema (sync.ts) without importing zod into the bundle. */
const VALID_KEY = /^[\p{L}\p{N}_.:/-]+$/u;

export interface FormKeySource {
  readonly id: string;
  readonly autosaveKey: string | undefined;
  /** The raw `action` attribute, or null when absent (the form then posts to the page itself). */
  readonly actionAttribute: string | null;
  readonly pageUrl: string;
}

export function deriveFormKey(source: FormKeySource): string {
  const named = source.id.trim() || source.autosaveKey?.trim();
  if (named) return named;
  // Query strings and fragments are dropped: `/products/42/edit?tab=2` is the same form.
  try {
    return new URL(source.actionAttribute ?? '', source.pageUrl).pathname;
  } catch {
    // An action that is no URL (`http://[`): the browser would post to the page itself.
    return new URL(source.pageUrl).pathname;
  }
}

/** True when the server will accept the key; other keys are kept locally but never sent. */
export function isSyncableKey(key: string): boolean {
  // VALID_KEY's `+` already refuses the empty key.
  return key.length <= MAX_KEY_LENGTH && VALID_KEY.test(key);
}

export function formKeyOf(scope: HTMLElement, pageUrl: string): string {
  return deriveFormKey({
    id: scope.id,
    autosaveKey: scope.dataset.autosaveKey,
    actionAttribute: scope instanceof HTMLFormElement ? scope.getAttribute('action') : null,
    pageUrl,
  });
}
