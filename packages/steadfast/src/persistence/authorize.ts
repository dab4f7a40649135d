/**
 * Permissions as a rule: the `authorize` option of `createPersistence`, asked before every tracked
 * write (a create, an update, a delete, a revert, a sync request's drafts) and every read of the
 * log, with the actor of the transaction context. A refusal throws ForbiddenError before anything
 * is written, and is itself logged: an entry of its own (model `Refusal`, action `refused`), written
 * once the work it refused has ended, whichever way it ended, and outside every record's hash chain
 * (a refusal changes no record, so it cannot be a link of one).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { hashEntry } from './activity-entry.js';
import type { Clock } from './clock.js';
import { ForbiddenError } from './errors.js';
import type { ModelRegistry } from './model-registry.js';
import type { Actor, TransactionContext } from './transaction-context.js';

/**
 * What the hook is asked about:
 * - `create`, `update`: a save (`autoSave`, `autoSaveBulk`, each save of a batch) of a new record,
 *   or of an existing one;
 * - `delete`: `autoDelete`;
 * - `revert`: restoring a logged version (`revert`, or a save with `action: 'revert'`);
 * - `sync`: a sync request writing or clearing the user's own drafts and states (model `Draft`;
 *   drafts are never records, but they are logged);
 * - `read-log`: a query of the activity log (`ActivityLog.query`, `/api/activity`), one entry
 *   (`ActivityLog.entry`), or a record's past versions (`readWithBase`, `mergeStale`, the base API).
 */
export const AUTHORIZE_ACTIONS = ['create', 'update', 'delete', 'revert', 'sync', 'read-log'] as const;
export type AuthorizeAction = (typeof AUTHORIZE_ACTIONS)[number];

export interface AuthorizeRequest {
  /**
   * Who asks: the context's actor (`runAs`, the request's signed-in user), or, in a batch of saves
   * of several callers, the caller of that save. `system` when nobody named one.
   */
  readonly actor: Actor;
  readonly action: AuthorizeAction;
  /**
   * The model acted on: a registered model's name, `Draft` for `sync`; for `read-log`, the model a
   * query is filtered by (or the entry's), undefined for a query of the whole log.
   */
  readonly model: string | undefined;
  /**
   * The record's id as text; undefined for a create whose key the database assigns, and for a log
   * query not filtered by object.
   */
  readonly objectId: string | undefined;
  /**
   * The record as stored now, every column of it (secret ones too): for `update`, `delete`,
   * `revert` (undefined when it restores a deleted record) and a record's `read-log`; undefined
   * for a `create`, `sync` and a log query.
   */
  readonly record: Readonly<Record<string, unknown>> | undefined;
  /**
   * What the write would store: the fields of a create or update as given (not yet validated, key
   * and version left out), the state a revert restores, the draft a sync writes
   * (`{ kind, key, data }`, `data` null to clear it); undefined for `delete` and `read-log`.
   */
  readonly values: Readonly<Record<string, unknown>> | undefined;
}

/** A refusal with its reason (the ForbiddenError's message, shown to the user). */
export interface AuthorizeRefusal {
  readonly refuse: string;
  /** Whether the refusal is logged; default: `recordRefusals` for its action. */
  readonly record?: boolean;
}

/** `true` allows; `false` or an AuthorizeRefusal refuses. Anything else refuses too. */
export type AuthorizeDecision = boolean | AuthorizeRefusal;

/**
 * Decides whether an actor may do what it asks. May be async, and runs inside the transaction of
 * the work it is asked about: read the app's tables through `persistence.executor()` (on SQLite's
 * one connection, a query on the root database would wait for that very transaction).
 *
 * @example
 * const authorize: Authorize = async ({ actor, action, model }) =>
 *   action === 'read-log' || model === 'Product' || (await isAdmin(actor.actor)) || { refuse: 'Admins only.' }
 */
export type Authorize = (request: AuthorizeRequest) => AuthorizeDecision | Promise<AuthorizeDecision>;

/** Model and action of the log entries that record refusals. */
export const REFUSAL_MODEL = 'Refusal';
export const REFUSED_ACTION = 'refused';

/**
 * Refusals logged by default: those of writes to records. A refused `sync` or `read-log` is
 * answered but not logged unless its refusal says `record: true`: a client retries its sync
 * queue and a page reloads the log, so logging each would let one account grow the log at will.
 */
const RECORDED_BY_DEFAULT: ReadonlySet<AuthorizeAction> = new Set(['create', 'update', 'delete', 'revert']);

/** Most field names a refusal entry lists. */
const MAX_FIELDS_LISTED = 50;

const VERBS: Readonly<Record<AuthorizeAction, string>> = {
  create: 'create',
  update: 'change',
  delete: 'delete',
  revert: 'revert',
  sync: 'save drafts as',
  'read-log': 'read the log of',
};

function describeRefusal(request: AuthorizeRequest): string {
  const what =
    request.model === undefined
      ? 'the whole log'
      : request.objectId === undefined
        ? request.model
        : `${request.model} ${request.objectId}`;
  if (request.action === 'read-log' && request.model === undefined) return 'You may not read the whole log.';
  return `You may not ${VERBS[request.action]} ${what}.`;
}

export interface AuthorizerOptions {
  readonly authorize?: Authorize;
  /** Log refusals of writes to records (default true); see RECORDED_BY_DEFAULT. */
  readonly recordRefusals?: boolean;
  readonly context: TransactionContext;
  /** The root database: a refusal's entry is written outside the transaction it ended. */
  readonly db: Kysely<Database>;
  readonly registry: ModelRegistry;
  readonly clock: Clock;
  /** A refusal entry that could not be written (the refusal itself still stands). */
  readonly onError?: (error: unknown) => void;
}

/** Asks the `authorize` hook, and logs its refusals. Without a hook, allows everything and costs nothing. */
export class Authorizer {
  readonly enabled: boolean;
  readonly #options: AuthorizerOptions;
  /** Refusals still to log, by their error: each is logged once, however many paths report it. */
  readonly #unlogged = new WeakMap<ForbiddenError, AuthorizeRequest>();

  constructor(options: AuthorizerOptions) {
    this.#options = options;
    this.enabled = options.authorize !== undefined;
  }

  /** The refusal of `request` (not thrown, not logged yet), or undefined when it is allowed. */
  async check(request: AuthorizeRequest): Promise<ForbiddenError | undefined> {
    const { authorize, recordRefusals = true } = this.#options;
    if (!authorize) return undefined;
    const decision: unknown = await authorize(request);
    if (decision === true) return undefined;
    const refusal: Partial<AuthorizeRefusal> =
      typeof decision === 'object' && decision !== null ? (decision as AuthorizeRefusal) : {};
    const reason =
      typeof refusal.refuse === 'string' && refusal.refuse.trim() !== ''
        ? refusal.refuse
        : describeRefusal(request);
    const error = new ForbiddenError(request.action, request.model, request.objectId, reason);
    const record =
      typeof refusal.record === 'boolean'
        ? refusal.record
        : recordRefusals && RECORDED_BY_DEFAULT.has(request.action);
    if (record) this.#unlogged.set(error, request);
    return error;
  }

  /** Asks; a refusal is logged once the ambient transaction ends (whichever way) and thrown. */
  async require(request: AuthorizeRequest): Promise<void> {
    if (!this.enabled) return;
    const refused = await this.check(request);
    if (!refused) return;
    await this.logAfterEnd(refused);
    throw refused;
  }

  /**
   * Logs the refusal once the ambient transaction has ended, committed or rolled back (at once
   * without one): the rollback that follows a refusal must not take its record with it.
   */
  async logAfterEnd(error: ForbiddenError): Promise<void> {
    if (!this.#unlogged.has(error)) return;
    if (this.#options.context.inTransaction()) this.#options.context.afterEnd(() => this.#log(error));
    else await this.#log(error);
  }

  /**
   * Logs the refusal if the ambient transaction commits. For a refusal answered inside shared work
   * (a batch of saves, a group of sync requests) that may yet be abandoned and run again piece by
   * piece: the piece then meets the refusal again and logs it itself.
   */
  logOnCommit(error: ForbiddenError): void {
    if (this.#unlogged.has(error)) this.#options.context.onCommit(() => this.#log(error));
  }

  async #log(error: ForbiddenError): Promise<void> {
    const request = this.#unlogged.get(error);
    if (!request) return;
    this.#unlogged.delete(error);
    try {
      await this.#options.db
        .insertInto('steadfast_activity_log')
        .values(this.#entryOf(request, error.message))
        .execute();
    } catch (cause) {
      this.#options.onError?.(cause);
    }
  }

  /**
   * The refusal as a log entry: its own chain of one (no previous hash), so that it neither joins
   * a record's chain nor waits for one; the record's version when it was refused (0 for none).
   */
  #entryOf(request: AuthorizeRequest, reason: string) {
    const { actor, action, model, objectId, record, values } = request;
    const snapshot: Record<string, unknown> = {
      action,
      model: model ?? null,
      objectId: objectId ?? null,
      reason,
    };
    const definition =
      model !== undefined && this.#options.registry.has(model)
        ? this.#options.registry.get(model)
        : undefined;
    if (definition && values && action !== 'sync') {
      // Which fields it tried to write, never their values (a secret field among them, or a huge one).
      snapshot.fields = Object.keys(values)
        .filter((field) => definition.trackedFields.includes(field))
        .slice(0, MAX_FIELDS_LISTED);
    }
    const version = Number(record?.version ?? 0);
    const content = {
      prev_hash: null,
      created_at: this.#options.clock.now().toISOString(),
      actor: actor.actor,
      action: REFUSED_ACTION,
      model: REFUSAL_MODEL,
      object_id: objectId === undefined ? (model ?? '*') : `${model ?? '*'}:${objectId}`,
      changes: '{}',
      snapshot: JSON.stringify(snapshot),
      request_id: actor.requestId ?? null,
      ip: actor.ip ?? null,
      version: Number.isSafeInteger(version) ? version : 0,
    };
    return { ...content, hash: hashEntry(content) };
  }
}
