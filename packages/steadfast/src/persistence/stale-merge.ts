/**
 * A stale form merged for its user: the record as it was at the version the form was loaded at
 * (rebuilt from the log), the record as it is now, who changed which field in between, and the
 * three-way merge of the user's values against them (`mergeThreeWay`, the very function the browser
 * service runs, so a page and the server always agree on a merge).
 */
import { MAX_STORED_INTEGER } from '../protocol/constants.js';
import { type FieldValues, type MergeResult, mergeThreeWay } from '../protocol/three-way-merge.js';
import type { ActivityEntry } from './activity-entry.js';
import type { ActivityLog } from './activity-log.js';
import type { Authorizer } from './authorize.js';
import { normalise } from './change-tracker.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { ModelDefinition, ModelRegistry } from './model-registry.js';
import { validateModelValues } from './model-values.js';
import type { RecordValues } from './save-types.js';
import { assertStorableText } from './storable-text.js';
import type { TransactionContext } from './transaction-context.js';

/** Who saved a version, and when (the log's actor: a user id, or `system`). */
export interface FieldAuthor {
  readonly actor: string;
  /** ISO-8601 time of the save. */
  readonly at: string;
  readonly version: number;
}

/**
 * Whether the record at the base version could be rebuilt: `found`; `pruned`, older than what
 * `activity prune` kept; `unknown`, a version the record never had (or its deletion).
 */
export type BaseStatus = 'found' | 'pruned' | 'unknown';

/** A record now and as it was at the version a form was loaded at. Secret fields are never in it. */
export interface RecordWithBase {
  readonly model: string;
  readonly objectId: string;
  /** The version the form was loaded at. */
  readonly baseVersion: number;
  readonly baseStatus: BaseStatus;
  /** The record's fields at `baseVersion`; null unless `baseStatus` is `found`. */
  readonly base: FieldValues | null;
  /** For a pruned base: the oldest version the log can still rebuild. */
  readonly oldestVersion: number | null;
  /** The record's tracked fields as they are now (not its key, version or timestamps). */
  readonly current: FieldValues;
  readonly currentVersion: number;
  /** Who saved the current version, and when; null when the log holds no entry for it. */
  readonly changedBy: FieldAuthor | null;
  /**
   * For each field changed after `baseVersion`, who changed it last: as far as the log still tells
   * (nothing for an unknown base; only the kept entries for a pruned one).
   */
  readonly fieldAuthors: Readonly<Record<string, FieldAuthor>>;
}

/**
 * A stale submit merged: `merged` is the record to save at `currentVersion` once `conflicts` are
 * settled (`resolveConflicts`). Fields the user left as they were at the base are never written
 * over someone else's change. Without a base (`baseStatus` not `found`) nothing tells who changed
 * a field, so every field whose submitted value differs from the current one is a conflict, with
 * no original value to offer.
 */
export interface StaleMerge extends RecordWithBase, MergeResult {
  /** The submitted values as merged: the model's fields only, as its schema would save them. */
  readonly draft: FieldValues;
}

export interface StaleMergeDependencies {
  readonly registry: ModelRegistry;
  readonly context: TransactionContext;
  readonly activityLog: ActivityLog;
  /** Asked (`read-log`) before a record's past is read. */
  readonly authorizer?: Authorizer;
}

/** The log's JSON text never holds anything else; the row's Dates and bigints become the same. */
const asJson = (value: unknown): FieldValues[string] => JSON.parse(JSON.stringify(normalise(value) ?? null));

const authorOf = (entry: ActivityEntry): FieldAuthor => ({
  actor: entry.actor,
  at: entry.time,
  version: entry.version,
});

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0)
    throw new ValidationError('version must be a whole number, 0 or more', 'version');
}

/** A key that cannot name a row (text for an integer key, out of range) names none: not found. */
function checkKey(definition: ModelDefinition, id: string | number): void {
  assertStorableText(definition.primaryKey, id);
  const missing = () => new NotFoundError(`${definition.name} ${String(id)} does not exist`);
  if (typeof id === 'string' && id === '') throw missing();
  if (definition.generatedKey && (!/^[1-9][0-9]{0,15}$/.test(String(id)) || Number(id) > MAX_STORED_INTEGER))
    throw missing();
}

/**
 * The record now, at `baseVersion`, and who changed what since. Throws NotFoundError when the
 * record does not exist now, UnknownModelError for a model never registered.
 */
export async function readWithBase(
  dependencies: StaleMergeDependencies,
  model: string,
  id: string | number,
  baseVersion: number,
): Promise<RecordWithBase> {
  const { registry, context, activityLog } = dependencies;
  const definition = registry.get(model);
  checkVersion(baseVersion);
  checkKey(definition, id);
  const objectId = String(id);
  const row = (await context
    .executor()
    .selectFrom(definition.table)
    .selectAll()
    .where(definition.primaryKey, '=', definition.generatedKey ? Number(id) : id)
    .executeTakeFirst()) as Record<string, unknown> | undefined;
  if (!row) throw new NotFoundError(`${model} ${objectId} does not exist`);
  // Its past versions and who made them come from the log.
  if (dependencies.authorizer?.enabled)
    await dependencies.authorizer.require({
      actor: context.actor(),
      action: 'read-log',
      model,
      objectId,
      record: row,
      values: undefined,
    });
  const secret = new Set(definition.secretFields ?? []);
  const visible = definition.trackedFields.filter((field) => !secret.has(field));
  const current = Object.fromEntries(visible.map((field) => [field, asJson(row[field])])) as FieldValues;
  const currentVersion = Number(row.version);

  const at = await activityLog.recordAt(model, objectId, baseVersion);
  const baseStatus: BaseStatus = at.status === 'found' || at.status === 'pruned' ? at.status : 'unknown';
  const since =
    baseStatus === 'unknown'
      ? []
      : await activityLog.entriesAfter(model, objectId, baseVersion, currentVersion);
  const fieldAuthors: Record<string, FieldAuthor> = {};
  for (const entry of since) {
    for (const field of Object.keys(entry.changes)) {
      if (!secret.has(field)) fieldAuthors[field] = authorOf(entry);
    }
  }
  const latest =
    since.at(-1)?.version === currentVersion
      ? since.at(-1)
      : await activityLog.entryAtVersion(model, objectId, currentVersion);
  return {
    model,
    objectId,
    baseVersion,
    baseStatus,
    base: at.status === 'found' ? at.values : null,
    oldestVersion: at.status === 'pruned' ? at.checkpoint.version : null,
    current,
    currentVersion,
    changedBy: latest ? authorOf(latest) : null,
    fieldAuthors,
  };
}

/**
 * Merges values submitted from a form loaded at `baseVersion` into the record as it is now. The
 * values go through the model's schema first (as a save would), so `5` and `5.00` of a money field
 * are the same value; the key and `version` in them are ignored. Throws ValidationError for values
 * a save would refuse, NotFoundError when the record is gone.
 */
export async function mergeStale(
  dependencies: StaleMergeDependencies,
  model: string,
  id: string | number,
  values: RecordValues,
  baseVersion: number,
): Promise<StaleMerge> {
  const definition = dependencies.registry.get(model);
  if (values === null || typeof values !== 'object' || Array.isArray(values))
    throw new ValidationError(`${model} values must be an object`);
  const { [definition.primaryKey]: _key, version: _version, ...fields } = values;
  const validated = validateModelValues(definition, fields, 'update');
  const draft = Object.fromEntries(
    Object.entries(validated).map(([field, value]) => [field, asJson(value)]),
  ) as FieldValues;
  const record = await readWithBase(dependencies, model, id, baseVersion);
  const merge = mergeThreeWay(record.base ?? {}, draft, record.current);
  return { ...record, ...merge, draft };
}
