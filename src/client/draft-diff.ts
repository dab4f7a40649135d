/** Field-level comparison of a draft with what the page shows, for stale drafts and restores. */
import { type FieldValue, sameFieldValue } from './field-values.js';

/** Names of the draft's fields whose value differs from the current one, in the draft's order. */
export function differingFields(
  draft: Readonly<Record<string, FieldValue>>,
  current: Readonly<Record<string, FieldValue>>,
): string[] {
  return Object.keys(draft).filter((name) => !sameFieldValue(draft[name], current[name]));
}
