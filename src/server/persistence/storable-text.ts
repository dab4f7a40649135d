/**
 * Text that neither engine stores or compares as given. PostgreSQL fails any statement carrying
 * NUL in text; both drivers send a lone UTF-16 surrogate as U+FFFD, so a written value would fail
 * the read-back check and a key would name another record. Refused before any query, naming the
 * field, alike on both engines.
 */
import { ValidationError } from './errors.js';

/** A UTF-16 surrogate without its pair: no UTF-8 text can hold it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws a ValidationError naming `field` when `value` is text no engine stores as given. */
export function assertStorableText(field: string, value: unknown): void {
  if (typeof value !== 'string') return;
  if (value.includes('\u0000'))
    throw new ValidationError(`${field}: must not contain a NUL character`, field);
  if (LONE_SURROGATE.test(value)) throw new ValidationError(`${field}: must be valid Unicode text`, field);
}
