/**
 * Text that both engines store and compare as given: no NUL (PostgreSQL refuses it in text and in
 * query parameters, a driver error) and no lone UTF-16 surrogate (both drivers send U+FFFD in its
 * place, so a written value fails verification and a key names another record). The one
 * definition every boundary refuses by: the sync protocol, the query filters, the app's forms and
 * the persistence manager. Imports nothing, so the browser bundle could use it too.
 */

/** A UTF-16 surrogate without its pair: no UTF-8 text can hold it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` cannot be stored as given, or null when it can. */
export function unstorableTextReason(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain a NUL character';
  if (LONE_SURROGATE.test(text)) return 'must be valid Unicode text';
  return null;
}

export function isStorableText(text: string): boolean {
  return unstorableTextReason(text) === null;
}
