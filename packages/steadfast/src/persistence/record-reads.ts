/**
 * The reads of a save: records with the hash of their newest log entry (the chain head a new entry
 * links to), many at once for a batch, the current row behind a conflict, and the check of a row
 * read back against what was written.
 */
import { type ExpressionBuilder, type RawBuilder, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { normalise } from './change-tracker.js';
import { ConflictError, VerificationError } from './errors.js';
import type { ModelDefinition } from './model-registry.js';
import type { RecordValues, StoredRecord } from './save-types.js';
import { storedAs } from './stored-value.js';
import type { Executor } from './transaction-context.js';

const HEAD_HASH = '__steadfast_head_hash';

/** Many records of one model with their chain heads, in one query, by key text. */
export async function readManyWithHead(
  executor: Executor,
  definition: ModelDefinition,
  keys: ReadonlyArray<string | number>,
) {
  const keyText = sql<string>`cast(${sql.ref(`${definition.table}.${definition.primaryKey}`)} as text)`;
  const rows = (await executor
    .selectFrom(definition.table)
    .selectAll(definition.table)
    .select(headHashOf(definition, keyText))
    .where(definition.primaryKey, 'in', keys)
    .execute()) as Array<Record<string, unknown>>;
  const byKey = new Map<string, { row: StoredRecord; headHash: string | null }>();
  for (const row of rows) {
    const { [HEAD_HASH]: headHash, ...rest } = row;
    byKey.set(String(rest[definition.primaryKey]), {
      row: rest as StoredRecord,
      headHash: (headHash as string | null | undefined) ?? null,
    });
  }
  return byKey;
}

/** Records of one model by key, in one query. */
export async function readMany(
  executor: Executor,
  definition: ModelDefinition,
  keys: ReadonlyArray<string | number>,
) {
  return (await executor
    .selectFrom(definition.table)
    .selectAll()
    .where(definition.primaryKey, 'in', keys)
    .execute()) as StoredRecord[];
}

/** The hash and version of the newest log entry of a record, if it has any. */
export async function headOf(executor: Executor, definition: ModelDefinition, objectId: string) {
  const head = (await executor
    .selectFrom('steadfast_activity_log')
    .select(['hash', 'version'])
    .where('model', '=', definition.name)
    .where('object_id', '=', objectId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()) as { hash: string; version: number } | undefined;
  return head ? { hash: head.hash, version: Number(head.version) } : undefined;
}

/** The ConflictError of a write that found its record moved, carrying the record as it is now. */
export async function conflict(
  executor: Executor,
  definition: ModelDefinition,
  key: unknown,
  readVersion: number,
) {
  const now = (await executor
    .selectFrom(definition.table)
    .selectAll()
    .where(definition.primaryKey, '=', key)
    .executeTakeFirst()) as StoredRecord | undefined;
  return new ConflictError(
    definition.name,
    String(key),
    readVersion,
    now ? Number(now.version) : undefined,
    now,
  );
}

/** The hash of the newest log entry of the record whose id (as text) is `objectId`, as a column. */
function headHashOf(definition: ModelDefinition, objectId: string | RawBuilder<string>) {
  return (eb: ExpressionBuilder<Database, 'steadfast_activity_log'>) =>
    eb
      .selectFrom('steadfast_activity_log')
      .select('hash')
      .where('model', '=', definition.name)
      .where('object_id', '=', objectId)
      .orderBy('id', 'desc')
      .limit(1)
      .as(HEAD_HASH);
}

/** The row read back after a write, checked column by column against what was written. */
export function checkReadBack(
  definition: ModelDefinition,
  key: unknown,
  readBack: StoredRecord | undefined,
  written: RecordValues,
): StoredRecord {
  if (!readBack) {
    throw new VerificationError(definition.name, String(key), definition.primaryKey, key, 'no row');
  }
  for (const [field, value] of Object.entries(written)) {
    if (!storedAs(readBack[field], value)) {
      throw new VerificationError(
        definition.name,
        String(key),
        field,
        normalise(value),
        normalise(readBack[field]),
      );
    }
  }
  return readBack;
}
