/**
 * A stale draft merged against the version its form was loaded at (DESIGN.md "Stale drafts:
 * three-way merge"): the protocol's `mergeThreeWay`, fed in the form's own terms. The server sends
 * records as stored (`quantity: 7`, `active: 1`); the draft and the page hold what fields show
 * (`'7'`, `true`). A field the server did not change since the base showed the base on the page,
 * so the page's value stands for it; only a field changed since is converted. A conversion that
 * misses can only make the user's value look changed, which asks (a conflict) rather than loses.
 * Pure: no DOM, unit-tested.
 */
import type { BaseResponse } from '../protocol/sync.js';
import {
  type JsonFieldValue,
  type MergeResult,
  mergeThreeWay,
  sameJsonValue,
} from '../protocol/three-way-merge.js';
import type { FieldValue } from './field-values.js';
import { isRecord } from './json.js';
import { formatClock } from './status-indicator.js';

export type FoundBase = Extract<BaseResponse, { status: 'found' }>;
export type FormValues = Readonly<Record<string, FieldValue>>;

/** An answer of the base route holding a base to merge against; anything else (pruned, HTML) is not. */
export function isFoundBase(value: unknown): value is FoundBase {
  return isRecord(value) && value.status === 'found' && isRecord(value.base) && isRecord(value.current);
}

/** Own fields only: a field named like an Object method is never read off the prototype. */
const own = <T>(values: Readonly<Record<string, T>>, field: string): T | undefined =>
  Object.hasOwn(values, field) ? values[field] : undefined;

/**
 * A record's value as the field now showing `shown` would hold it: a checkbox's `1` as checked, a
 * number as its text. What this reads wrong (an object) only ever becomes a question.
 */
export function asFieldValue(value: JsonFieldValue | undefined, shown: FieldValue): FieldValue {
  if (typeof shown === 'boolean') return [true, 1, '1', 'true', 'on'].includes(value as never);
  return Array.isArray(shown) ? [value ?? []].flat().map(String) : String(value ?? '');
}

/**
 * The draft's fields merged into what the page shows (the record now): the user's changes since
 * the base kept, the rest the page's. Drafted fields the page no longer has are left out.
 */
export function mergeDraft(answer: FoundBase, draft: FormValues, page: FormValues): MergeResult {
  const base: Record<string, FieldValue> = {};
  const mine: Record<string, FieldValue> = {};
  for (const [field, value] of Object.entries(draft)) {
    const shown = own(page, field);
    if (shown === undefined) continue;
    mine[field] = value;
    const was = own(answer.base, field);
    const changed = Object.hasOwn(answer.current, field) && !sameJsonValue(was, answer.current[field]);
    base[field] = changed ? asFieldValue(was, shown) : shown;
  }
  return mergeThreeWay(base, mine, page);
}

/** How a value reads in a sentence: lists joined, a checkbox in words, nothing as "(empty)". */
export function describeValue(value: JsonFieldValue | undefined): string {
  const text =
    typeof value === 'boolean'
      ? value
        ? 'checked'
        : 'not checked'
      : Array.isArray(value)
        ? value.join(', ')
        : value;
  return text == null || text === '' ? '(empty)' : String(text);
}

/**
 * Who last saved `field`, and when: "user 3 at 10:50", or "you at 10:50" for the user's own save
 * elsewhere (the log keeps user ids, not names).
 */
export function describeAuthor(answer: FoundBase, field: string, self: string): string {
  const author = own(answer.fieldsChangedBy ?? {}, field) ?? answer.changedBy;
  return author
    ? `${author.actor === self ? 'you' : `user ${author.actor}`} at ${formatClock(Date.parse(author.at))}`
    : 'someone else';
}

/**
 * What a merge kept from where: "Kept from your draft: price. From the save by user 3 at 10:50:
 * name." Someone else's fields are every field of the page changed since the base, the user's
 * stale copies it replaced or not; fields in conflict are left to their choices.
 */
export function describeMerge(
  { fromDraft, conflicts }: MergeResult,
  answer: FoundBase,
  page: FormValues,
  self: string,
): string {
  const byAuthor = new Map<string, string[]>();
  for (const field of Object.keys(answer.fieldsChangedBy ?? {})) {
    if (!Object.hasOwn(page, field) || fromDraft.includes(field) || conflicts.some((c) => c.field === field))
      continue;
    const author = describeAuthor(answer, field, self);
    byAuthor.set(author, [...(byAuthor.get(author) ?? []), field]);
  }
  return [
    ...(fromDraft.length > 0 ? [`Kept from your draft: ${fromDraft.join(', ')}.`] : []),
    ...Array.from(byAuthor, ([author, fields]) => `From the save by ${author}: ${fields.join(', ')}.`),
  ].join(' ');
}
