/**
 * The sync protocol's messages: runtime schemas (zod) with their types inferred from them, so the
 * wire format is written once. The browser imports only the types (`import type`), so zod never
 * reaches the bundle.
 */
import { z } from 'zod';
import {
  CHANGE_KINDS,
  CHANGE_RESULT_STATUSES,
  MAX_CHANGES_PER_BATCH,
  MAX_DATA_DEPTH,
  MAX_KEY_LENGTH,
  MAX_STORED_INTEGER,
} from './constants.js';
import { isStorableText } from './storable-text.js';

/**
 * Any JSON value no deeper than MAX_DATA_DEPTH and free of prototype-polluting keys. Depth and
 * keys are checked first: z.json() recurses, and overflowed the stack (a 500) on data nested a few
 * thousand levels deep, which a body well under the size limit can hold.
 */
export const jsonValueSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    const problem = findJsonProblem(value, 0);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .pipe(z.json());

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Iterative-enough check: depth is bounded by MAX_DATA_DEPTH so recursion cannot overflow. */
function findJsonProblem(value: unknown, depth: number): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_DATA_DEPTH) return `nested deeper than ${MAX_DATA_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = findJsonProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return `key "${key}" is not allowed`;
    const problem = findJsonProblem((value as Record<string, unknown>)[key], depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** The characters of a draft or state key. */
const KEY_PATTERN = /^[\p{L}\p{N}_.:/-]+$/u;

/** A draft or state key. */
const keySchema = z
  .string()
  .min(1)
  .max(MAX_KEY_LENGTH)
  .regex(KEY_PATTERN, 'letters, digits and _ . : / - only');

export const changeSchema = z.strictObject({
  mutationId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  kind: z.enum(CHANGE_KINDS),
  key: keySchema,
  /** The draft's fields (kind `form`) or the saved value (kind `state`); null deletes it. */
  data: jsonValueSchema.nullable(),
  /**
   * Version of the record the form was loaded from, when there is one. Versions are 32-bit
   * integers on PostgreSQL (drafts.base_version too, whose insert failed with a 500): no record
   * has a larger one.
   */
  baseVersion: z.number().int().nonnegative().max(MAX_STORED_INTEGER).nullable().optional(),
  savedAt: z.iso.datetime({ offset: true }),
});
export type SyncChange = z.infer<typeof changeSchema>;

export const syncRequestSchema = z.strictObject({
  clientId: z.uuid(),
  changes: z.array(changeSchema).max(MAX_CHANGES_PER_BATCH),
});
export type SyncRequest = z.infer<typeof syncRequestSchema>;

/** The patterns of `z.uuid()` and `z.iso.datetime({ offset: true })`, which the schemas check with. */
const UUID_PATTERN = z.regexes.uuid();
const DATETIME_PATTERN = z.regexes.datetime({ offset: true });
const CHANGE_KEYS = new Set(['mutationId', 'kind', 'key', 'data', 'baseVersion', 'savedAt']);

/**
 * A parsed JSON body that is certainly a valid sync request, returned as it is; undefined for
 * anything else, valid or not, which is left to syncRequestSchema (and its error messages). The
 * schema's copy of a batch of ten drafts cost the sync endpoint about 8% of its CPU (profile of
 * bench/sync-throughput.bench.ts); this walks the body once and copies nothing. It accepts only
 * what the schema accepts, and the schema's value is then a copy equal to the body: plain objects
 * of JSON values only (as a JSON parser makes them), every check of the schema made the same way,
 * and any doubt (a key left undefined, an object of another prototype) sent to the schema.
 */
export function asValidSyncRequest(body: unknown): SyncRequest | undefined {
  if (!isPlainObject(body)) return undefined;
  const keys = Object.keys(body);
  if (keys.length !== 2 || !Object.hasOwn(body, 'clientId') || !Object.hasOwn(body, 'changes'))
    return undefined;
  const { clientId, changes } = body as Record<string, unknown>;
  if (typeof clientId !== 'string' || !UUID_PATTERN.test(clientId)) return undefined;
  if (!Array.isArray(changes) || changes.length > MAX_CHANGES_PER_BATCH) return undefined;
  for (const change of changes) if (!isValidChange(change)) return undefined;
  return body as SyncRequest;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function isValidChange(change: unknown): boolean {
  if (!isPlainObject(change)) return false;
  for (const key of Object.keys(change)) if (!CHANGE_KEYS.has(key) || change[key] === undefined) return false;
  const { mutationId, kind, key, data, baseVersion, savedAt } = change;
  return (
    typeof mutationId === 'number' &&
    Number.isSafeInteger(mutationId) &&
    mutationId > 0 &&
    typeof kind === 'string' &&
    (CHANGE_KINDS as readonly string[]).includes(kind) &&
    typeof key === 'string' &&
    key.length >= 1 &&
    key.length <= MAX_KEY_LENGTH &&
    KEY_PATTERN.test(key) &&
    isPlainJson(data, 0) &&
    (baseVersion === undefined ||
      baseVersion === null ||
      (typeof baseVersion === 'number' &&
        Number.isSafeInteger(baseVersion) &&
        baseVersion >= 0 &&
        baseVersion <= MAX_STORED_INTEGER)) &&
    typeof savedAt === 'string' &&
    DATETIME_PATTERN.test(savedAt)
  );
}

/** A JSON value jsonValueSchema takes as it is: finite numbers, no forbidden key, objects within MAX_DATA_DEPTH. */
function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || depth >= MAX_DATA_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isPlainJson(item, depth + 1)) return false;
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key) || !isPlainJson((value as Record<string, unknown>)[key], depth + 1))
      return false;
  }
  return true;
}

export const changeResultSchema = z.object({
  mutationId: z.number().int(),
  status: z.enum(CHANGE_RESULT_STATUSES),
  /** For `stale`: the record's current version. */
  currentVersion: z.number().int().optional(),
});
export type ChangeResult = z.infer<typeof changeResultSchema>;

export const syncResponseSchema = z.object({
  status: z.literal('ok'),
  synced: z.number().int(),
  lastMutationId: z.number().int(),
  results: z.array(changeResultSchema),
  serverTime: z.string(),
});
export type SyncResponse = z.infer<typeof syncResponseSchema>;

/** Every API error body. `expectedMutationId` accompanies `mutation_gap` (409). */
export const apiErrorSchema = z.object({
  error: z.string(),
  message: z.string(),
  expectedMutationId: z.number().int().optional(),
});
export type ApiErrorBody = z.infer<typeof apiErrorSchema>;

export const draftSchema = z.object({
  key: z.string(),
  kind: z.enum(CHANGE_KINDS),
  data: z.json(),
  baseVersion: z.number().int().nullable(),
  savedAt: z.string(),
  updatedAt: z.string(),
});
export type Draft = z.infer<typeof draftSchema>;

export const draftsResponseSchema = z.object({ drafts: z.array(draftSchema) });
export type DraftsResponse = z.infer<typeof draftsResponseSchema>;

export const draftsQuerySchema = z.strictObject({
  // No stored key holds NUL (see changeSchema), and PostgreSQL refuses it in a query parameter.
  key: z
    .string()
    .min(1)
    .max(MAX_KEY_LENGTH)
    .refine(isStorableText, 'must not contain a NUL character or broken Unicode')
    .optional(),
});

/** `GET /api/autosave/base/?key=…&version=…`: a query string, so the version arrives as text. */
export const baseQuerySchema = z.strictObject({
  /** The draft's key; it names the record (`product-42`), as for `stale` answers of the sync. */
  key: keySchema,
  /** The draft's `baseVersion`: the version its form was loaded at. */
  version: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,9})$/, 'must be a whole number, 0 or more')
    .transform(Number)
    .pipe(z.number().max(MAX_STORED_INTEGER, `must be at most ${MAX_STORED_INTEGER}`)),
});
export type BaseQuery = z.input<typeof baseQuerySchema>;

/** Who saved a version of the record, and when; `actor` is the log's (a user id, or `system`). */
export const fieldAuthorSchema = z.object({
  actor: z.string(),
  at: z.string(),
  version: z.number().int(),
});
export type FieldAuthorBody = z.infer<typeof fieldAuthorSchema>;

const fieldsSchema = z.record(z.string(), z.json());
const baseAnswerCommon = {
  key: z.string(),
  /** The version asked for. */
  version: z.number().int(),
  /** The record now: its fields (secret ones never) and its `version`. */
  current: fieldsSchema,
  /** Who saved the current version; null when the log holds no entry of it. */
  changedBy: fieldAuthorSchema.nullable(),
};

/**
 * The answer of `GET /api/autosave/base/` (200). `found`: `base` is the record at `version`, and
 * `fieldsChangedBy` names who last changed each field since; `pruned`: that version was pruned
 * from the log (`oldestVersion` is the oldest still kept); `unknown`: the record never had that
 * version. Without a base, a client offers the draft whole against `current`.
 */
export const baseResponseSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('found'),
    ...baseAnswerCommon,
    base: fieldsSchema,
    fieldsChangedBy: z.record(z.string(), fieldAuthorSchema),
  }),
  z.object({ status: z.literal('pruned'), ...baseAnswerCommon, oldestVersion: z.number().int() }),
  z.object({ status: z.literal('unknown'), ...baseAnswerCommon }),
]);
export type BaseResponse = z.infer<typeof baseResponseSchema>;
