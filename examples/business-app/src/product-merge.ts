/**
 * A product form submitted at an old version, merged for its user (`persistence.mergeStale`): what
 * the merge page shows of each field (where its value comes from, and who saved it when), the
 * choices the user made for the conflicts, and the notice after a merge saved with no question.
 */
import type { StaleMerge } from 'steadfast/persistence';
import { type ConflictChoice, type JsonFieldValue, sameJsonValue } from 'steadfast/protocol';
import type { ActorNames } from './actor-names.js';
import { PRODUCT_FIELDS, type ProductField } from './product-form.js';
import { fieldLabel } from './view-helpers.js';

/**
 * Where a field's merged value comes from: the user's change, the other side's, a change both made
 * alike, a conflict to settle, or no change at all since the form was loaded.
 */
export type FieldOrigin = 'yours' | 'theirs' | 'both' | 'conflict' | 'unchanged';

export interface MergeRow {
  readonly field: ProductField;
  readonly origin: FieldOrigin;
  /** The value once merged (for a conflict, the current one until the user chooses). */
  readonly value: JsonFieldValue | undefined;
  /** Who last saved the field since the form was loaded, for `theirs` and `conflict`. */
  readonly author: string | null;
  readonly at: string | null;
}

export interface ConflictView {
  readonly field: ProductField;
  readonly yours: JsonFieldValue;
  readonly theirs: JsonFieldValue | undefined;
  /** Null when the base could not be rebuilt: there is no original to offer. */
  readonly original: JsonFieldValue | undefined | null;
  readonly author: string | null;
  readonly at: string | null;
  /** The user's choice so far, if any. */
  readonly choice: ConflictChoice | null;
}

export interface MergeView {
  readonly rows: readonly MergeRow[];
  readonly conflicts: readonly ConflictView[];
  /** The base was rebuilt from the log; else every differing field is a conflict with no original. */
  readonly baseFound: boolean;
  readonly loadedVersion: number;
  readonly currentVersion: number;
  readonly savedBy: string | null;
  readonly savedAt: string | null;
}

const CHOICES: readonly ConflictChoice[] = ['yours', 'theirs', 'original'];

/** The actors whose names a merge page or notice shows. */
export function actorsOf(merge: StaleMerge): string[] {
  return [
    ...(merge.changedBy ? [merge.changedBy.actor] : []),
    ...Object.values(merge.fieldAuthors).map((author) => author.actor),
  ];
}

/** `choice_<field>` radios of the merge form: only the words a conflict offers, for conflicting fields. */
export function readChoices(body: unknown, merge: StaleMerge): Partial<Record<string, ConflictChoice>> {
  const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const choices: Partial<Record<string, ConflictChoice>> = {};
  for (const conflict of merge.conflicts) {
    const raw = fields[`choice_${conflict.field}`];
    const choice = CHOICES.find((word) => word === raw);
    // Without a base there is no original to go back to.
    if (choice && (choice !== 'original' || merge.base !== null)) choices[conflict.field] = choice;
  }
  return choices;
}

export function mergeView(
  merge: StaleMerge,
  names: ActorNames,
  choices: Partial<Record<string, ConflictChoice>> = {},
): MergeView {
  const nameOf = (actor: string | undefined) => (actor === undefined ? null : (names.get(actor) ?? actor));
  const author = (field: string) => merge.fieldAuthors[field] ?? merge.changedBy ?? undefined;
  const conflictFields = new Set(merge.conflicts.map((conflict) => conflict.field));
  const originOf = (field: ProductField): FieldOrigin => {
    if (conflictFields.has(field)) return 'conflict';
    if (merge.fromDraft.includes(field)) return 'yours';
    if (merge.fromServer.includes(field)) return 'theirs';
    const base = merge.base?.[field];
    if (merge.base && !sameJsonValue(base, merge.current[field])) return 'both';
    return 'unchanged';
  };
  const rows = PRODUCT_FIELDS.map((field): MergeRow => {
    const origin = originOf(field);
    const by = origin === 'theirs' || origin === 'conflict' ? author(field) : undefined;
    return { field, origin, value: merge.merged[field], author: nameOf(by?.actor), at: by?.at ?? null };
  });
  const conflicts = merge.conflicts.map((conflict): ConflictView => {
    const by = author(conflict.field);
    return {
      field: conflict.field as ProductField,
      yours: conflict.draft,
      theirs: conflict.current,
      original: merge.base === null ? null : conflict.base,
      author: nameOf(by?.actor),
      at: by?.at ?? null,
      choice: choices[conflict.field] ?? null,
    };
  });
  return {
    rows,
    conflicts,
    baseFound: merge.base !== null,
    loadedVersion: merge.baseVersion,
    currentVersion: merge.currentVersion,
    savedBy: nameOf(merge.changedBy?.actor),
    savedAt: merge.changedBy?.at ?? null,
  };
}

const listOf = (fields: readonly string[]) => fields.map(fieldLabel).join(', ');

/** The notice after a merged save: whose changes it holds, field by field. */
export function mergedNotice(
  merge: StaleMerge,
  names: ActorNames,
  saved: { readonly changed: boolean; readonly version: number },
): string {
  const others = [
    ...new Set(
      [...merge.fromServer, ...merge.conflicts.map((conflict) => conflict.field)]
        .map((field) => merge.fieldAuthors[field]?.actor ?? merge.changedBy?.actor)
        .filter((actor): actor is string => actor !== undefined)
        .map((actor) => names.get(actor) ?? actor),
    ),
  ];
  const who = others.length > 0 ? others.join(' and ') : 'someone else';
  if (!saved.changed) {
    return `${who} saved this product while you were editing it, with your changes already in it: nothing more to save (version ${saved.version}).`;
  }
  return [
    `${who} saved this product while you were editing it; your changes were merged with theirs and saved as version ${saved.version}.`,
    merge.fromDraft.length > 0 ? `Yours: ${listOf(merge.fromDraft)}.` : '',
    merge.fromServer.length > 0 ? `Theirs: ${listOf(merge.fromServer)}.` : '',
    merge.conflicts.length > 0
      ? `Your choice: ${listOf(merge.conflicts.map((conflict) => conflict.field))}.`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}
