/**
 * The database store of the sessions (session-plugin.ts, and the Express adapter): sessions live in the `sessions` table, so any process
 * sharing the database can serve any request. Expired rows are never returned and are swept
 * on a timer.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

type Callback = (error?: unknown) => void;

/** The stored `data` of the session `sid` when it expires after `now`; undefined when there is none. */
export interface SessionLookup {
  /** False while a transaction is open in the current context: its own writes must be seen. */
  usable(): boolean;
  read(sid: string, now: number): string | undefined;
}
/** A session's stored data. */
export type StoredSession = Record<string, unknown>;

/** `json` is the stored text the session was parsed from (its JSON as last written). */
type GetCallback = (error: unknown, session?: StoredSession | null, json?: string) => void;

/**
 * A stored session's data, or null when the row no longer holds a JSON object (edited by hand, a
 * damaged page): such a session is simply gone, never an error on every request of its user.
 */
function parseSessionData(text: string): StoredSession | null {
  try {
    const data: unknown = JSON.parse(text);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
    // Our sessions never hold such a key; copied into the session object it would replace its prototype.
    return Object.hasOwn(data, '__proto__') ? null : (data as StoredSession);
  } catch {
    return null;
  }
}

export interface SessionStoreOptions {
  /**
   * The executor to use: the request's transaction when one is open. A session regenerated at
   * sign-in is then part of that request's transaction, and on SQLite (one connection) a store
   * query can never wait for the transaction holding the connection.
   */
  readonly executor: () => Kysely<Database>;
  /**
   * Reads a live session's `data` outside a transaction, instead of a query through `executor()`.
   * On SQLite the plugin passes a prepared statement on a second, read-only connection: with one
   * connection, every request's session read would queue behind the group commit's open
   * transaction (and requests would reach the group commit one at a time), and a prepared
   * statement skips building and compiling a query on every request.
   */
  readonly lookup?: SessionLookup;
  /** Lifetime of a session whose cookie has no expiry (ms). */
  readonly ttlMs: number;
  readonly now?: () => number;
}

/** A session as handed over to be stored: any JSON-able object with an optional cookie. */
interface SessionLike {
  readonly cookie?: { readonly expires?: Date | string | null };
  readonly user?: { readonly id?: unknown };
}

export class KyselySessionStore {
  readonly #executor: () => Kysely<Database>;
  readonly #lookup: SessionLookup | undefined;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: SessionStoreOptions) {
    this.#executor = options.executor;
    this.#lookup = options.lookup;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  get(sid: string, callback: GetCallback): void {
    const lookup = this.#lookup;
    if (lookup?.usable()) {
      let data: string | undefined;
      try {
        data = lookup.read(sid, this.#now());
      } catch (error) {
        callback(error);
        return;
      }
      if (data === undefined) callback(null, null);
      else callback(null, parseSessionData(data), data);
      return;
    }
    this.#executor()
      .selectFrom('steadfast_sessions')
      .select('data')
      .where('sid', '=', sid)
      .where('expires_at', '>', this.#now())
      .executeTakeFirst()
      .then(
        (row) => (row ? callback(null, parseSessionData(row.data), row.data) : callback(null, null)),
        callback,
      );
  }

  set(sid: string, session: SessionLike, callback: Callback): void {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires).getTime() : Number.NaN;
    const expiresAt = Number.isFinite(expires) ? expires : this.#now() + this.#ttlMs;
    const userId = Number(session.user?.id);
    const row = {
      sid,
      data: JSON.stringify(session),
      expires_at: expiresAt,
      user_id: Number.isSafeInteger(userId) ? userId : null,
    };
    this.#executor()
      .insertInto('steadfast_sessions')
      .values(row)
      .onConflict((oc) =>
        oc.column('sid').doUpdateSet({ data: row.data, expires_at: row.expires_at, user_id: row.user_id }),
      )
      .execute()
      .then(() => callback(), callback);
  }

  destroy(sid: string, callback: Callback): void {
    this.#executor()
      .deleteFrom('steadfast_sessions')
      .where('sid', '=', sid)
      .execute()
      .then(() => callback(), callback);
  }

  /** Deletes expired sessions; returns how many. */
  async sweep(): Promise<number> {
    const result = await this.#executor()
      .deleteFrom('steadfast_sessions')
      .where('expires_at', '<=', this.#now())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Runs `sweep` every `intervalMs` until the returned function is called; never keeps the process alive. */
  startSweeping(intervalMs: number, onError: (error: unknown) => void): () => void {
    const timer = setInterval(() => {
      this.sweep().catch(onError);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
