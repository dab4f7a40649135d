/**
 * Reads Steadfast's own session from a request's Cookie header, without a web framework: the
 * signed cookie is checked with the same secret, against the same `steadfast_sessions` table, as
 * the Fastify sessions write them (session-cookie-signer.ts, session-store.ts), so a user signed
 * in through a Fastify app (or any process sharing the database) is signed in here too. The
 * Express router reads sessions this way; the Fastify plugin has its session hooks.
 */
import { parseCookie } from 'cookie';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Persistence } from '../persistence/create-persistence.js';
import type { SignedInUser } from '../sync/signed-in-user.js';
import { SessionCookieSigner } from './session-cookie-signer.js';
import { KyselySessionStore } from './session-store.js';
import { parseSessionUser } from './session-user.js';

/** Who a request is, and the CSRF secret of their session. */
export interface Authenticated {
  readonly user: SignedInUser;
  readonly csrfSecret?: string;
}

export interface SessionReaderOptions {
  readonly persistence: Persistence;
  readonly secret: string;
  readonly cookieName: string;
}

/** The signed-in user of a Cookie header and their session's CSRF secret; null for nobody. */
export type SessionReader = (cookieHeader: string | undefined) => Promise<Authenticated | null>;

export function createSessionReader(options: SessionReaderOptions): SessionReader {
  const { persistence, cookieName } = options;
  const signer = new SessionCookieSigner(options.secret);
  const store = new KyselySessionStore({ executor: () => persistence.db as Kysely<Database>, ttlMs: 0 });
  const load = (sid: string) =>
    new Promise<Record<string, unknown> | null>((resolve, reject) =>
      store.get(sid, (error, session) => (error ? reject(error) : resolve(session ?? null))),
    );
  return async (cookieHeader) => {
    const raw = parseCookie(cookieHeader ?? '')[cookieName];
    if (!raw) return null;
    const sid = signer.unsign(raw);
    if (!sid) return null;
    const session = await load(sid);
    const user = parseSessionUser(session?.user);
    if (!user) return null;
    const csrfSecret = typeof session?._csrf === 'string' ? session._csrf : undefined;
    return { user, csrfSecret };
  };
}
