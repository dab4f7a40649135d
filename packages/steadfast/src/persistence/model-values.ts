/**
 * A save's values as its model sees them: split into key, expected version and fields, validated
 * through the model's schema, reduced to the tracked fields a log entry records, and the record
 * they name. Pure functions, shared by the single-save path, batched saves and stale merges.
 */
import type { z } from 'zod';
import { normalise, sameValue } from './change-tracker.js';
import { ValidationError } from './errors.js';
import type { ModelDefinition } from './model-registry.js';
import type { RecordValues, SaveOptions } from './save-types.js';
import { assertStorableText } from './storable-text.js';

/** The record's key, the version the caller's copy was read at, and the fields to write. */
export function splitValues(definition: ModelDefinition, values: RecordValues, options: SaveOptions) {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    throw new ValidationError(`${definition.name} values must be an object`);
  }
  const { [definition.primaryKey]: rawKey, version: rawVersion, ...fields } = values;
  const key = rawKey === undefined || rawKey === null || rawKey === '' ? undefined : rawKey;
  if (key !== undefined && typeof key !== 'string' && typeof key !== 'number') {
    throw new ValidationError(`${definition.primaryKey} must be a string or a number`, definition.primaryKey);
  }
  assertStorableText(definition.primaryKey, key);
  let expectedVersion = options.expectedVersion;
  if (expectedVersion === undefined && rawVersion !== undefined && rawVersion !== null && rawVersion !== '') {
    const parsed = Number(rawVersion);
    if (!Number.isInteger(parsed) || parsed < 0)
      throw new ValidationError('version must be a whole number', 'version');
    expectedVersion = parsed;
  }
  return { key: key as string | number | undefined, expectedVersion, fields };
}

// Building a zod schema costs more than using it: make each model's partial (update) schema once.
const partialSchemas = new WeakMap<z.ZodObject, z.ZodObject>();
/**
 * The values as a save would write them: only the model's fields, through its schema (whole for a
 * create, only the fields given for an update), storable by both engines. Throws ValidationError.
 */
export function validateModelValues(
  definition: ModelDefinition,
  fields: RecordValues,
  mode: 'create' | 'update',
): Record<string, unknown> {
  const allowed = definition.schema ? Object.keys(definition.schema.shape) : definition.trackedFields;
  for (const field of Object.keys(fields)) {
    if (!allowed.includes(field))
      throw new ValidationError(`${definition.name} has no field "${field}"`, field);
  }
  let values: Record<string, unknown> = { ...fields };
  if (definition.schema) {
    const schema = mode === 'create' ? definition.schema : partialSchemaOf(definition.schema);
    const parsed = schema.safeParse(fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join('.') || undefined;
      throw new ValidationError(`${field ?? definition.name}: ${issue?.message ?? 'invalid'}`, field);
    }
    const data = parsed.data as Record<string, unknown>;
    // zod applies a field's default inside `.partial()` too: an update writes only what it was given,
    // never a default over a field it left alone.
    values =
      mode === 'create'
        ? data
        : Object.fromEntries(
            Object.keys(fields)
              .filter((field) => field in data)
              .map((field) => [field, data[field]]),
          );
  }
  for (const [field, value] of Object.entries(values)) assertStorableText(field, value);
  return values;
}

function partialSchemaOf(schema: z.ZodObject): z.ZodObject {
  let partial = partialSchemas.get(schema);
  if (!partial) {
    partial = schema.partial();
    partialSchemas.set(schema, partial);
  }
  return partial;
}

/** The record a save's values name, for keeping two saves of one record out of one batch. */
export function recordOf(definition: ModelDefinition, values: RecordValues): string | undefined {
  if (values === null || typeof values !== 'object') return undefined;
  const key = Object.hasOwn(values, definition.primaryKey) ? values[definition.primaryKey] : undefined;
  return key === undefined || key === null || key === '' ? undefined : recordKey(definition, key);
}

/** One record's name across models: `Model\0key`. */
export function recordKey(definition: ModelDefinition, key: unknown): string {
  return `${definition.name}\u0000${String(key)}`;
}

/**
 * The row an update of `current` to `set` is to store, each value in the form the driver reads its
 * column in: a number written to a column read as text (int8 on a pool that parses it as text,
 * numeric) is expected back as text, so that its entry, written before the row is read, logs what
 * a read-back would have logged.
 */
export function expectedRow(current: RecordValues, set: RecordValues): Record<string, unknown> {
  const row: Record<string, unknown> = { ...current };
  for (const [field, value] of Object.entries(set)) {
    const asRead =
      typeof current[field] === 'string' && (typeof value === 'number' || typeof value === 'bigint');
    row[field] = asRead ? String(value) : value;
  }
  return row;
}

/**
 * Whether the tracked fields of `row` are exactly those of `tracked` (as pickTracked gives them):
 * an entry written before its row was read back logs what a read-back would have logged.
 */
export function sameTracked(definition: ModelDefinition, row: RecordValues, tracked: RecordValues): boolean {
  return definition.trackedFields.every((field) => sameValue(normalise(row[field]), tracked[field]));
}

/** The tracked fields of `row`, normalised: what a log entry records of it. */
export function pickTracked(definition: ModelDefinition, row: RecordValues): Record<string, unknown> {
  const tracked: Record<string, unknown> = {};
  for (const field of definition.trackedFields) tracked[field] = normalise(row[field]);
  return tracked;
}
