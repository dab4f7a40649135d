/**
 * Database sessions (in place of @fastify/session): the signed `sid` cookie names a row of the
 * `sessions` table, so any process sharing the database serves any request, and a session ended
 * or expired anywhere is refused everywhere on the next request.
 *
 * Per request it does what a database session needs and nothing more: one HMAC check of the
 * cookie (the first time this process sees it: SessionCookieSigner), one read of the row, one JSON parse, and at the end one JSON stringify to see whether
 * the data changed; the row is written only then. @fastify/session also signed the id again,
 * built two cookie objects and hashed the session twice with SHA-256 on every request, which made
 * it the largest single cost of an API call (CPU profile of bench/http-overhead.bench.ts).
 *
 * The formats are unchanged: the cookie is `<id>.<signature>` as @fastify/cookie's Signer makes it
 * (the Express adapter checks it with the same SessionCookieSigner), the row holds the data as JSON with
 * `cookie.expires`, so rows written by either implementation read the same.
 *
 * No row for nobody: a session that holds nothing but its CSRF secret (a visitor who opened the
 * sign-in form) is not stored. Its secret travels in a signed cookie of its own (`<cookieName>_csrf`,
 * httpOnly), the signed double-submit pattern: the form's token must match that secret, which only
 * this server can sign. The first time a session holds more (a sign-in) it is stored as before, with
 * a new secret, and the visitor's cookie is cleared.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, Session } from 'fastify';
import { SessionCookieSigner } from '../../session-cookie-signer.js';
import type { KyselySessionStore } from '../../session-store.js';

declare module 'fastify' {
  /** What a session holds. Apps add their own keys: `declare module 'fastify' { interface Session { flash?: Flash } }`. */
  interface Session {
    /** @fastify/csrf-protection's secret. */
    _csrf?: string;
  }
  interface FastifyRequest {
    /** The request's session: read from the database at onRequest, written at onSend when changed. */
    session: RequestSession;
  }
}

export interface SessionPluginOptions {
  /** Signs the cookie (≥ 32 characters). */
  readonly secret: string;
  readonly cookieName: string;
  readonly store: KyselySessionStore;
  /** Lifetime of a new session (ms); not extended by use. */
  readonly ttlMs: number;
  /** `auto`: Secure on https requests only. `true`: never sent, nor stored, over plain http. */
  readonly secure: boolean | 'auto';
}

const promisify = (call: (done: (error?: unknown) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => call((error) => (error ? reject(error) : resolve())));

/** 24 random bytes, base64url: 32 characters, like @fastify/session's ids. */
const newSessionId = (): string => randomBytes(24).toString('base64url');

interface SessionContext {
  readonly store: KyselySessionStore;
  readonly request: FastifyRequest;
  /** A new, empty session for the same request. */
  readonly fresh: () => RequestSession;
}

/**
 * The session methods; the data are the object's own properties (so `session._csrf`, as
 * @fastify/csrf-protection reads it, works), and its JSON is exactly the stored row's data.
 */
export class SessionHandle {
  readonly #id: string;
  readonly #context: SessionContext;
  /** Read from the database through the request's cookie (as opposed to new in this request). */
  readonly #fromCookie: boolean;
  /** The data's JSON as last read or written; the session is saved only when it differs. */
  #persisted: string;
  /** Written during this request (its cookie must be sent even if unchanged since). */
  #saved = false;
  /** When the session ends (kept in the data for the store's `expires_at`). */
  declare cookie: { expires?: string | null };

  /** `stored`: the row's JSON the data were parsed from, which spares stringifying them again. */
  constructor(
    id: string,
    context: SessionContext,
    data: Record<string, unknown>,
    fromCookie: boolean,
    stored?: string,
  ) {
    this.#id = id;
    this.#context = context;
    this.#fromCookie = fromCookie;
    Object.assign(this, data);
    this.#persisted = stored ?? JSON.stringify(this);
  }

  get sessionId(): string {
    return this.#id;
  }

  get<Key extends keyof Session>(key: Key): Session[Key] | undefined {
    return (this as unknown as Session)[key];
  }

  set<Key extends keyof Session>(key: Key, value: Session[Key] | undefined): void {
    (this as unknown as Session)[key] = value as Session[Key];
  }

  /** True when the data differ from what the database holds. */
  isModified(): boolean {
    return JSON.stringify(this) !== this.#persisted;
  }

  /** Written during this request. */
  isSaved(): boolean {
    return this.#saved;
  }

  /** Whether the request's cookie named this session. */
  isFromCookie(): boolean {
    return this.#fromCookie;
  }

  /** Writes the session now (it is otherwise written at onSend when changed). */
  async save(): Promise<void> {
    const json = JSON.stringify(this);
    await promisify((done) => this.#context.store.set(this.#id, this, done));
    this.#persisted = json;
    this.#saved = true;
  }

  /**
   * Deletes this session's row and puts an empty session with a new id in its place (sign-in: an
   * id planted before sign-in is worthless after it). The new one is written at onSend once it
   * holds something.
   */
  async regenerate(): Promise<void> {
    await promisify((done) => this.#context.store.destroy(this.#id, done));
    this.#context.request.session = this.#context.fresh();
  }

  /** Deletes the row; the request has no session afterwards, and its cookie is cleared. */
  async destroy(): Promise<void> {
    await promisify((done) => this.#context.store.destroy(this.#id, done));
    this.#context.request.session = null as unknown as RequestSession;
  }
}

export type RequestSession = SessionHandle & Session;

/** A session with nothing in it but its CSRF secret (and expiry): a visitor, not stored. */
function holdsOnlyCsrf(session: RequestSession): boolean {
  for (const key of Object.keys(session)) if (key !== 'cookie' && key !== '_csrf') return false;
  return typeof session._csrf === 'string' && session._csrf !== '';
}

/** Registers the session hooks on `app` (inside the Steadfast plugin, so they reach the whole app). */
export function registerSessions(app: FastifyInstance, options: SessionPluginOptions): void {
  const { store, cookieName, ttlMs, secure } = options;
  const signer = new SessionCookieSigner(options.secret);
  const csrfCookieName = `${cookieName}_csrf`;

  /** The visitor's CSRF secret from its signed cookie, for a request with no stored session. */
  const visitorSecret = (request: FastifyRequest): string | undefined => {
    const cookie = request.cookies[csrfCookieName];
    return (cookie && signer.unsign(cookie)) || undefined;
  };

  const open = (
    request: FastifyRequest,
    id: string | null,
    data: Record<string, unknown> | null,
    stored?: string,
    csrfSecret?: string,
  ) => {
    const context: SessionContext = { store, request, fresh: () => open(request, null, null) };
    if (id && data) return new SessionHandle(id, context, data, true, stored) as RequestSession;
    const expires = new Date(Date.now() + ttlMs).toISOString();
    const fresh = { cookie: { expires }, ...(csrfSecret ? { _csrf: csrfSecret } : {}) };
    return new SessionHandle(newSessionId(), context, fresh, false) as RequestSession;
  };

  app.decorateRequest('session', null as unknown as RequestSession);

  app.addHook('onRequest', (request, _reply, done) => {
    const cookie = request.cookies[cookieName];
    const id = cookie ? signer.unsign(cookie) : null;
    if (!id) {
      request.session = open(request, null, null, undefined, visitorSecret(request));
      done();
      return;
    }
    store.get(id, (error, data, stored) => {
      if (error) {
        done(error as Error);
        return;
      }
      request.session = data
        ? open(request, id, data, stored)
        : open(request, null, null, undefined, visitorSecret(request));
      done();
    });
  });

  const setCookie = (request: FastifyRequest, reply: FastifyReply, session: RequestSession) => {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires) : undefined;
    reply.setCookie(cookieName, signer.sign(session.sessionId), {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: secure === 'auto' ? request.protocol === 'https' : secure,
      ...(expires && Number.isFinite(expires.getTime()) ? { expires } : {}),
    });
  };

  const setVisitorCookie = (request: FastifyRequest, reply: FastifyReply, csrfSecret: string) => {
    // No expiry: it lives as long as the browser session, like the form it protects.
    reply.setCookie(csrfCookieName, signer.sign(csrfSecret), {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: secure === 'auto' ? request.protocol === 'https' : secure,
    });
  };

  app.addHook('onSend', (request, reply, payload, done) => {
    const session = request.session as RequestSession | null;
    const hasCookie = request.cookies[cookieName] !== undefined;
    const hasVisitorCookie = request.cookies[csrfCookieName] !== undefined;
    const insecure = secure === true && request.protocol !== 'https';
    if (session && !insecure && session.isModified()) {
      if (!session.isFromCookie() && holdsOnlyCsrf(session)) {
        setVisitorCookie(request, reply, session._csrf as string);
        if (hasCookie) reply.clearCookie(cookieName, { path: '/' });
        done(null, payload);
        return;
      }
      session.save().then(
        () => {
          setCookie(request, reply, session);
          if (hasVisitorCookie) reply.clearCookie(csrfCookieName, { path: '/' });
          done(null, payload);
        },
        (error: unknown) => done(error as Error),
      );
      return;
    }
    if (session?.isSaved() && !insecure) setCookie(request, reply, session);
    // A cookie naming a session that is gone (signed out, expired, replaced at sign-in) is dropped.
    else if (hasCookie && !session?.isFromCookie()) reply.clearCookie(cookieName, { path: '/' });
    done(null, payload);
  });
}
