/** The persistence manager's side of the storable-text rule (src/protocol/storable-text.ts). */
import { unstorableTextReason } from '../protocol/storable-text.js';
import { ValidationError } from './errors.js';

/** Throws a ValidationError naming `field` when `value` is text no engine stores as given. */
export function assertStorableText(field: string, value: unknown): void {
  if (typeof value !== 'string') return;
  const reason = unstorableTextReason(value);
  if (reason !== null) throw new ValidationError(`${field}: ${reason}`, field);
}
