/**
 * Three-way merge of a stale draft, field by field, against the record as it was when the draft's
 * form was loaded (the base, rebuilt from the log) and the record as it is now. Pure and
 * dependency-free: the browser service and the server run this same code, so both sides always
 * agree on what a merge gives.
 *
 * A field missing from a record is "absent", a value of its own (not null): absent from the draft
 * means the user never touched the field, so it is never written.
 */

/** Any JSON value a field can hold: text, a number, a checkbox, a multi-select's list, … */
export type JsonFieldValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonFieldValue[]
  | { readonly [key: string]: JsonFieldValue };

/** A record's fields (or a draft's), by name. */
export type FieldValues = Readonly<Record<string, JsonFieldValue>>;

/** A field both the user and the server changed, to different values. `undefined` means absent. */
export interface MergeConflict {
  readonly field: string;
  readonly base: JsonFieldValue | undefined;
  readonly draft: JsonFieldValue;
  readonly current: JsonFieldValue | undefined;
}

export interface MergeResult {
  /**
   * The record to show or write: `current` with the user's own changes applied. A conflicting
   * field keeps the current value until the user settles it (see `resolveConflicts`). Its fields
   * are current's, plus the draft's fields the base did not have.
   */
  readonly merged: FieldValues;
  /** Draft fields only the user changed: merged takes the draft's value. */
  readonly fromDraft: readonly string[];
  /** Draft fields only the server changed: the draft's stale value gave way to the current one. */
  readonly fromServer: readonly string[];
  /** In field order (current's fields first, then the draft's others). */
  readonly conflicts: readonly MergeConflict[];
}

export interface MergeOptions {
  /** When two present values count as the same; default: structural JSON equality. */
  readonly equals?: (left: JsonFieldValue, right: JsonFieldValue) => boolean;
}

/** How the user settled a conflict: their draft's value, the server's current one, or the base. */
export type ConflictChoice = 'yours' | 'theirs' | 'original';

/** Own fields only, so a field named like an Object method is never read off the prototype. */
const fieldOf = (values: FieldValues, field: string): JsonFieldValue | undefined =>
  Object.hasOwn(values, field) ? values[field] : undefined;

/** Structural equality: lists item by item in order, objects key by key in any order. */
export function sameJsonValue(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (!left || !right || typeof left !== 'object' || typeof right !== 'object') return false;
  if (Array.isArray(left) !== Array.isArray(right)) return false;
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every(
      (key) =>
        Object.hasOwn(right, key) &&
        sameJsonValue((left as Record<string, unknown>)[key], (right as Record<string, unknown>)[key]),
    )
  );
}

/** Built from entries: a field named `__proto__` stays a field instead of setting the prototype. */
const recordOf = (entries: Array<[string, JsonFieldValue | undefined]>): FieldValues =>
  Object.fromEntries(entries.filter((entry): entry is [string, JsonFieldValue] => entry[1] !== undefined));

/**
 * Merges a draft made at `base` into `current`, field by field:
 * changed only by the user → the draft's value; only on the server → the current value; by both
 * to the same value → that value; by both to different values → a conflict (merged keeps the
 * current value). A field absent from the draft is never written.
 *
 * @example
 * const base = { name: 'Desk', price: '500.00', tags: ['oak'] }
 * const draft = { name: 'Oak desk', price: '450.00', tags: ['oak'] }
 * const current = { name: 'Desk', price: '480.00', tags: ['oak', 'sale'] }
 * const result = mergeThreeWay(base, draft, current)
 * // result.merged: { name: 'Oak desk', price: '480.00', tags: ['oak', 'sale'] }
 * // result.fromDraft: ['name'], result.fromServer: ['tags']
 * // result.conflicts: [{ field: 'price', base: '500.00', draft: '450.00', current: '480.00' }]
 */
export function mergeThreeWay(
  base: FieldValues,
  draft: FieldValues,
  current: FieldValues,
  options: MergeOptions = {},
): MergeResult {
  const equals = options.equals ?? sameJsonValue;
  const same = (left: JsonFieldValue | undefined, right: JsonFieldValue | undefined) =>
    left === undefined || right === undefined ? left === right : equals(left, right);
  const fromDraft: string[] = [];
  const fromServer: string[] = [];
  const conflicts: MergeConflict[] = [];
  const fields = [...new Set([...Object.keys(current), ...Object.keys(draft)])];
  const merged = recordOf(
    fields.map((field) => {
      const was = fieldOf(base, field);
      const mine = fieldOf(draft, field);
      const theirs = fieldOf(current, field);
      if (mine === undefined || same(mine, was)) {
        if (mine !== undefined && !same(theirs, was)) fromServer.push(field);
      } else if (same(theirs, was)) {
        fromDraft.push(field);
        return [field, mine];
      } else if (!same(mine, theirs)) {
        conflicts.push({ field, base: was, draft: mine, current: theirs });
      }
      return [field, theirs];
    }),
  );
  return { merged, fromDraft, fromServer, conflicts };
}

/**
 * The record once the user settled the conflicts: each conflict's field takes the value chosen.
 * A conflict with no choice keeps the current value, as in `merged`; choices for fields that are
 * not in conflict are ignored. A chosen value that is absent (the base had no such field) removes
 * the field.
 *
 * @example
 * resolveConflicts(result, { price: 'yours' })
 * // { name: 'Oak desk', price: '450.00', tags: ['oak', 'sale'] }
 */
export function resolveConflicts(
  result: MergeResult,
  choices: Readonly<Record<string, ConflictChoice>>,
): FieldValues {
  const chosen = new Map<string, JsonFieldValue | undefined>(Object.entries(result.merged));
  for (const conflict of result.conflicts) {
    const choice = Object.hasOwn(choices, conflict.field) ? choices[conflict.field] : undefined;
    if (choice === 'yours') chosen.set(conflict.field, conflict.draft);
    else if (choice === 'original') chosen.set(conflict.field, conflict.base);
  }
  return recordOf([...chosen]);
}
