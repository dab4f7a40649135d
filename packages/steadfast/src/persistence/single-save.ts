/**
 * The single-save pipeline: one save in the open transaction, step by step: read the record and
 * its chain head, ask the `authorize` hook, check the expected version, validate, write, verify the
 * row stored, and log (or return the change for the caller to log with others). The hooks run
 * between the steps, so a hook that throws at any of them rolls back everything.
 */

import type { ActivityEntry } from './activity-entry.js';
import type { AuthorizeRequest } from './authorize.js';
import type { TrackedChange } from './change-tracker.js';
import { ConflictError, NotFoundError } from './errors.js';
import type { ModelDefinition } from './model-registry.js';
import { expectedRow, pickTracked, sameTracked, splitValues, validateModelValues } from './model-values.js';
import { checkReadBack, conflict, headOf } from './record-reads.js';
import type { RecordValues, SaveOptions, SaveResult, SaveServices, StoredRecord } from './save-types.js';
import { unchangedBy } from './stored-value.js';
import type { Actor } from './transaction-context.js';
import { mapWriteError } from './write-errors.js';

/** What an update writes, decided from the current row before anything is written. */
export type UpdatePlan =
  | { readonly kind: 'unchanged'; readonly result: Omit<SaveResult, 'entry'> }
  | {
      readonly kind: 'write';
      readonly set: Record<string, unknown>;
      readonly currentVersion: number;
      readonly version: number;
    };

/** One save written: its entry, when logged in its write, or the change still to log. */
export interface PendingSave {
  readonly result: Omit<SaveResult, 'entry'>;
  readonly change: TrackedChange | null;
  readonly entry?: ActivityEntry;
}

/**
 * The row stored differs from the one its log entry (written in the same statement) describes, in
 * a tracked field the save did not write: someone changed the record between the save's read and
 * its write without moving its version. Thrown to undo the save and make it again step by step.
 */
export class StoredOtherwise extends Error {}

/**
 * One save in the open transaction. With `logEarlier`, an update writes its log entry in the
 * same statement as the row (PostgreSQL), after calling `logEarlier` so that the entries of the
 * saves before it are written first: ids in the order of the saves, and a second change of one
 * record chains to the first's entry. Without it (or for a create) the change is returned to log.
 */
export async function saveOne(
  services: SaveServices,
  definition: ModelDefinition,
  values: RecordValues,
  options: SaveOptions,
  logEarlier?: () => Promise<void>,
  authorized = false,
): Promise<PendingSave> {
  const executor = services.context.executor();
  const { key, expectedVersion, fields } = splitValues(definition, values, options);
  const model = definition.name;
  const current =
    key === undefined ? undefined : await services.statements.readWithHead(executor, definition, key);
  const now = services.clock.now().toISOString();
  if (services.authorizer && !authorized && !isMissing(definition, key, current, options)) {
    // Before any check that would tell the caller more (a version, a validation message), and
    // before anything is written.
    await services.authorizer.require(
      saveRequest(services.context.actor(), definition, key, current?.row, fields, options),
    );
  }

  if (!current) {
    if (isMissing(definition, key, current, options)) {
      throw new NotFoundError(`${model} ${String(key)} does not exist`);
    }
    if (expectedVersion !== undefined && expectedVersion !== 0) {
      throw new ConflictError(model, String(key), expectedVersion, undefined, undefined);
    }
    const validated = validateModelValues(definition, fields, 'create');
    // A record re-created under an old key (a reverted delete) continues that key's chain.
    const head = key === undefined ? undefined : await headOf(executor, definition, String(key));
    const version = (head?.version ?? 0) + 1;
    const row: Record<string, unknown> = { ...validated, version };
    if (key !== undefined) row[definition.primaryKey] = key;
    if (definition.createdAtColumn) row[definition.createdAtColumn] = now;
    if (definition.updatedAtColumn) row[definition.updatedAtColumn] = now;
    const step = { model, objectId: key === undefined ? undefined : String(key), values: row };
    if (services.hooks.beforeWrite) await services.hooks.beforeWrite(step);
    const inserted = await mapWriteError(definition, () =>
      services.statements.insert(executor, definition, row),
    );
    const objectId = String(inserted.key);
    if (services.hooks.afterWrite) await services.hooks.afterWrite({ ...step, objectId });
    const stored =
      (services.readBackAlways ? undefined : inserted.row) ??
      (await services.statements.readBack(executor, definition, inserted.key));
    const record = checkReadBack(definition, inserted.key, stored, row);
    if (services.hooks.afterVerify) await services.hooks.afterVerify({ ...step, objectId });
    return {
      result: { record, created: true, changed: true, version },
      change: {
        model,
        objectId,
        action: options.action ?? 'create',
        before: null,
        after: pickTracked(definition, record),
        version,
        secretFields: definition.secretFields,
        prevHash: head?.hash ?? null,
      },
    };
  }

  const objectId = String(key);
  const plan = planUpdate(definition, key as string | number, current.row, fields, {
    expectedVersion,
    options,
    now,
  });
  if (plan.kind === 'unchanged') return { result: plan.result, change: null };
  const { set, currentVersion, version } = plan;
  const step = { model, objectId, values: set };
  if (services.hooks.beforeWrite) await services.hooks.beforeWrite(step);
  const change: TrackedChange = {
    model,
    objectId,
    action: options.action ?? 'update',
    before: pickTracked(definition, current.row),
    after: null,
    version,
    secretFields: definition.secretFields,
    prevHash: current.headHash,
  };

  if (logEarlier) {
    await logEarlier();
    // The entry describes the row the update is to store; the statement stores both or neither,
    // and the row it stored is checked against that description before anything commits.
    const after = pickTracked(definition, expectedRow(current.row, set));
    const prepared = await services.tracker.prepareEntries([{ ...change, after }]);
    const written = await mapWriteError(definition, () =>
      services.statements.update(executor, definition, key, currentVersion, set, prepared.rows[0]),
    );
    // Another writer committed between our read and our write (pg, or another process).
    if (!written) throw await conflict(executor, definition, key, currentVersion);
    const stored = written.row ?? (await services.statements.readBack(executor, definition, key));
    const record = checkReadBack(definition, key, stored, set);
    if (!sameTracked(definition, record, after)) throw new StoredOtherwise();
    return {
      result: { record, created: false, changed: true, version },
      change: null,
      entry: prepared.complete([written.entryId])[0],
    };
  }

  const written = await mapWriteError(definition, () =>
    services.statements.update(executor, definition, key, currentVersion, set, undefined),
  );
  if (!written) throw await conflict(executor, definition, key, currentVersion);
  if (services.hooks.afterWrite) await services.hooks.afterWrite(step);
  const stored =
    (services.readBackAlways ? undefined : written.row) ??
    (await services.statements.readBack(executor, definition, key));
  const record = checkReadBack(definition, key, stored, set);
  if (services.hooks.afterVerify) await services.hooks.afterVerify(step);
  return {
    result: { record, created: false, changed: true, version },
    change: { ...change, after: pickTracked(definition, record) },
  };
}

/** Checks the expected version, validates, and decides what an update of `current` writes. */
export function planUpdate(
  definition: ModelDefinition,
  key: string | number,
  current: StoredRecord,
  fields: RecordValues,
  at: { readonly expectedVersion: number | undefined; readonly options: SaveOptions; readonly now: string },
): UpdatePlan {
  const objectId = String(key);
  const currentVersion = Number(current.version);
  if (at.expectedVersion !== undefined && at.expectedVersion !== currentVersion) {
    throw new ConflictError(definition.name, objectId, at.expectedVersion, currentVersion, current);
  }
  const validated = validateModelValues(definition, fields, 'update');
  const changedFields = Object.entries(validated).filter(
    ([field, value]) => !unchangedBy(current[field], value),
  );
  if (changedFields.length === 0 && at.options.action !== 'revert') {
    return {
      kind: 'unchanged',
      result: { record: current, created: false, changed: false, version: currentVersion },
    };
  }
  const version = currentVersion + 1;
  const set: Record<string, unknown> = { ...Object.fromEntries(changedFields), version };
  if (definition.updatedAtColumn) set[definition.updatedAtColumn] = at.now;
  return { kind: 'write', set, currentVersion, version };
}

/**
 * A save naming a record of a generated key that does not exist: answered NotFoundError, it would
 * write nothing (a revert re-creates a deleted record, so it is not missing).
 */
export function isMissing(
  definition: ModelDefinition,
  key: string | number | undefined,
  current: unknown,
  options: SaveOptions,
): boolean {
  return !current && key !== undefined && definition.generatedKey && options.action !== 'revert';
}

/** What the `authorize` hook is asked about a save. */
export function saveRequest(
  actor: Actor,
  definition: ModelDefinition,
  key: string | number | undefined,
  current: StoredRecord | undefined,
  fields: RecordValues,
  options: SaveOptions,
): AuthorizeRequest {
  return {
    actor,
    action: options.action === 'revert' ? 'revert' : current ? 'update' : 'create',
    model: definition.name,
    objectId: key === undefined ? undefined : String(key),
    record: current,
    values: fields,
  };
}
