/**
 * A small real Fastify server that speaks the sync protocol in memory, for the browser service's
 * tests and bench until the app's endpoint replaces it. It validates with the protocol's own zod
 * schemas and keeps the protocol's promises: per clientId, changes apply at most once and in
 * order (applied / duplicate / stale), a gap is refused with 409 `mutation_gap`.
 *
 * Sessions are a plain `sid=<user>` cookie; each rendered page gets a fresh CSRF token, and every
 * token a user was given stays valid (enough to tell "sent the page's token" from "sent none").
 * Switches: `stop()`/`restart()` take the listener down and up on the same port, `unavailable`
 * answers 503, `rejectKeys` answers 400 for changes with those keys.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { CSRF_HEADER, DRAFTS_PATH, SYNC_PATH } from '../../packages/steadfast/src/protocol/constants.js';
import {
  type ChangeResult,
  type Draft,
  type SyncChange,
  type SyncResponse,
  syncRequestSchema,
} from '../../packages/steadfast/src/protocol/sync.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE_PATH = path.join(
  root,
  'packages',
  'steadfast',
  'dist',
  'browser',
  'auto-save-service.js',
);

export interface TestPage {
  /** HTML put inside <body>, after a `[data-autosave-status]` element. */
  readonly body: string;
  /** Options for `Steadfast.createAutoSaveService`; absent = the bundle starts itself with defaults. */
  readonly serviceOptions?: Record<string, unknown>;
  /** Extra markup for <head>. */
  readonly head?: string;
  /**
   * False: the server adds no service script of its own (a page that loads and starts a library
   * itself, like the client bench's pages for Steadfast and for garlic.js). Default true.
   */
  readonly loadsService?: boolean;
}

export interface AppliedChange {
  readonly user: string;
  readonly clientId: string;
  readonly change: SyncChange;
}

export interface ReceivedSync {
  readonly user: string;
  readonly clientId: string;
  readonly mutationIds: readonly number[];
  readonly keys: readonly string[];
  readonly bodyBytes: number;
}

export interface AutosaveTestServerOptions {
  /** Adds COOP/COEP headers so pages are cross-origin isolated (5 µs performance.now()). */
  readonly crossOriginIsolated?: boolean;
  /** Extra files served as-is: URL path → file path. */
  readonly files?: Readonly<Record<string, string>>;
  /**
   * Serves scripts (the bundle and `files`) as the demo app does in production, cacheable for an
   * hour, so a returning page gets them from the HTTP cache with V8's code cache. Default: no-store,
   * so every test page runs the bundle just built.
   */
  readonly cacheScripts?: boolean;
}

interface ClientProgress {
  lastMutationId: number;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export class AutosaveTestServer {
  /** Every page path the tests registered. */
  readonly pages = new Map<string, TestPage>();
  /** Drafts per user, per key. */
  readonly drafts = new Map<string, Map<string, Draft>>();
  /** Current version of a record, per draft key, for `stale` answers. */
  readonly recordVersions = new Map<string, number>();
  readonly applied: AppliedChange[] = [];
  readonly received: ReceivedSync[] = [];
  /** Answer every sync with 503. */
  unavailable = false;
  /** Sync requests answered 503 so far. */
  unavailableAnswers = 0;
  /** Answer 400 (naming the field) for any batch containing one of these keys. */
  readonly rejectKeys = new Set<string>();
  /** What POST /submit/:key does: accept (303 to a page clearing the draft) or reject (422, form again). */
  submitOutcome: 'accept' | 'reject' = 'accept';
  readonly submits: { key: string; fields: Record<string, string> }[] = [];

  private readonly progress = new Map<string, ClientProgress>();
  private readonly csrfTokens = new Map<string, Set<string>>();
  private app: FastifyInstance | undefined;
  private port = 0;

  private constructor(private readonly options: AutosaveTestServerOptions) {}

  static async start(options: AutosaveTestServerOptions = {}): Promise<AutosaveTestServer> {
    const server = new AutosaveTestServer(options);
    await server.listen();
    return server;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(pathname: string): string {
    return this.origin + pathname;
  }

  /** Takes the server down (connections refused) until `restart()`. */
  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    await app?.close();
  }

  async restart(): Promise<void> {
    if (!this.app) await this.listen();
  }

  async close(): Promise<void> {
    await this.stop();
  }

  draftsOf(user: string): Map<string, Draft> {
    let drafts = this.drafts.get(user);
    if (!drafts) {
      drafts = new Map();
      this.drafts.set(user, drafts);
    }
    return drafts;
  }

  /** A session cookie for `user`, for `context.addCookies`. */
  sessionCookie(user: string): { name: string; value: string; url: string } {
    return { name: 'sid', value: user, url: this.origin };
  }

  private async listen(): Promise<void> {
    const app = Fastify({ logger: false, forceCloseConnections: true });
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    if (this.options.crossOriginIsolated) {
      app.addHook('onSend', async (_request, reply) => {
        reply.header('cross-origin-opener-policy', 'same-origin');
        reply.header('cross-origin-embedder-policy', 'require-corp');
        reply.header('cross-origin-resource-policy', 'same-origin');
      });
    }
    app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
    const scriptCaching = this.options.cacheScripts ? 'public, max-age=3600' : 'no-store';
    const scripts: Record<string, string> = { '/auto-save-service.js': BUNDLE_PATH, ...this.options.files };
    for (const [urlPath, filePath] of Object.entries(scripts)) {
      app.get(urlPath, async (_request, reply) =>
        reply.type('text/javascript').header('cache-control', scriptCaching).send(readFileSync(filePath)),
      );
    }
    app.get('/__login', async (request, reply) => {
      const { user, next } = request.query as { user?: string; next?: string };
      if (!user) return reply.code(400).send('user required');
      return reply
        .header('set-cookie', `sid=${encodeURIComponent(user)}; Path=/; HttpOnly`)
        .redirect(next ?? '/', 303);
    });
    app.post('/logout', async (_request, reply) =>
      reply.header('set-cookie', 'sid=; Path=/; Max-Age=0').redirect('/signed-out', 303),
    );
    app.post('/submit/:key', async (request, reply) => this.handleSubmit(request, reply));
    app.post(SYNC_PATH, async (request, reply) => this.handleSync(request, reply));
    app.get(DRAFTS_PATH, async (request, reply) => {
      const user = this.userOf(request);
      if (!user) return reply.code(401).send({ error: 'unauthenticated', message: 'Sign in first.' });
      const { key } = request.query as { key?: string };
      const all = [...this.draftsOf(user).values()];
      return { drafts: key === undefined ? all : all.filter((draft) => draft.key === key) };
    });
    app.get('/*', async (request, reply) => {
      const pathname = new URL(request.url, this.origin).pathname;
      const page = this.pages.get(pathname);
      if (!page) return reply.code(404).type('text/html').send('<!doctype html><title>404</title>not found');
      const cleared = new URL(request.url, this.origin).searchParams.getAll('cleared');
      return reply.type('text/html').send(this.render(request, page, cleared));
    });
    await app.listen({ host: '127.0.0.1', port: this.port });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('test server has no TCP address');
    this.port = address.port;
    this.app = app;
  }

  private userOf(request: FastifyRequest): string | null {
    const match = /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.cookie ?? '');
    return match?.[1] ? decodeURIComponent(match[1]) : null;
  }

  private issueCsrfToken(user: string): string {
    const token = `csrf-${randomUUID()}`;
    let tokens = this.csrfTokens.get(user);
    if (!tokens) {
      tokens = new Set();
      this.csrfTokens.set(user, tokens);
    }
    tokens.add(token);
    return token;
  }

  private validCsrf(user: string, token: string | undefined): boolean {
    return token !== undefined && (this.csrfTokens.get(user)?.has(token) ?? false);
  }

  /** The most recent token issued to `user` (the one the last rendered page carries). */
  latestCsrfToken(user: string): string | undefined {
    return [...(this.csrfTokens.get(user) ?? [])].at(-1);
  }

  private render(request: FastifyRequest, page: TestPage, cleared: readonly string[]): string {
    const user = this.userOf(request);
    const token = this.issueCsrfToken(user ?? '');
    const meta = [
      `<meta name="csrf-token" content="${escapeHtml(token)}">`,
      user ? `<meta name="autosave-user" content="${escapeHtml(user)}">` : '',
      ...cleared.map((key) => `<meta name="autosave-clear" content="${escapeHtml(key)}">`),
    ].join('\n');
    const script =
      page.loadsService === false
        ? ''
        : page.serviceOptions
          ? `<script src="/auto-save-service.js" data-autosave-manual></script>
<script>window.autoSaveService = Steadfast.createAutoSaveService(${JSON.stringify(page.serviceOptions)});
document.addEventListener('DOMContentLoaded', () => window.autoSaveService.start());</script>`
          : '<script src="/auto-save-service.js"></script>';
    const body = page.body.replaceAll('{{csrf}}', escapeHtml(token));
    return `<!doctype html><html><head><meta charset="utf-8"><title>test</title>
${meta}
${page.head ?? ''}
${script}
</head><body><div data-autosave-status></div>
${body}
</body></html>`;
  }

  private handleSubmit(request: FastifyRequest, reply: FastifyReply) {
    const user = this.userOf(request);
    const { key } = request.params as { key: string };
    const fields = (request.body ?? {}) as Record<string, string>;
    if (!user || !this.validCsrf(user, fields._csrf)) return reply.code(403).send('bad csrf');
    this.submits.push({ key, fields });
    const { page } = request.query as { page?: string };
    if (this.submitOutcome === 'reject') {
      const form = this.pages.get(page ?? '/');
      return reply
        .code(422)
        .type('text/html')
        .send(this.render(request, form ?? { body: 'invalid' }, []));
    }
    return reply.redirect(`/after-submit?cleared=${encodeURIComponent(key)}`, 303);
  }

  private handleSync(request: FastifyRequest, reply: FastifyReply) {
    const user = this.userOf(request);
    if (!user) return reply.code(401).send({ error: 'unauthenticated', message: 'Sign in first.' });
    const token = request.headers[CSRF_HEADER];
    if (!this.validCsrf(user, typeof token === 'string' ? token : undefined)) {
      return reply.code(403).send({ error: 'csrf_invalid', message: 'The CSRF token is missing or wrong.' });
    }
    if (this.unavailable) {
      this.unavailableAnswers += 1;
      return reply.code(503).send({ error: 'storage_unavailable', message: 'Storage is unavailable.' });
    }
    const parsed = syncRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return reply
        .code(400)
        .send({ error: 'invalid_request', message: `${issue?.path.join('.')}: ${issue?.message}` });
    }
    const { clientId, changes } = parsed.data;
    this.received.push({
      user,
      clientId,
      mutationIds: changes.map((change) => change.mutationId),
      keys: changes.map((change) => change.key),
      bodyBytes: Buffer.byteLength(JSON.stringify(request.body)),
    });
    const rejected = changes.findIndex((change) => this.rejectKeys.has(change.key));
    if (rejected >= 0) {
      return reply
        .code(400)
        .send({ error: 'invalid_request', message: `changes.${rejected}.key: refused by the test server` });
    }
    const progressKey = `${user}\u0000${clientId}`;
    const progress = this.progress.get(progressKey) ?? { lastMutationId: 0 };
    // Check the whole batch before applying any of it: at most once, in order, no gaps.
    let expected = progress.lastMutationId + 1;
    for (const change of changes) {
      if (change.mutationId < expected) continue;
      if (change.mutationId !== expected) {
        return reply.code(409).send({
          error: 'mutation_gap',
          message: `Expected mutation ${expected}, got ${change.mutationId}.`,
          expectedMutationId: expected,
        });
      }
      expected += 1;
    }
    const results: ChangeResult[] = [];
    let synced = 0;
    for (const change of changes) {
      if (change.mutationId <= progress.lastMutationId) {
        results.push({ mutationId: change.mutationId, status: 'duplicate' });
        continue;
      }
      progress.lastMutationId = change.mutationId;
      synced += 1;
      this.applied.push({ user, clientId, change });
      const drafts = this.draftsOf(user);
      if (change.data === null) drafts.delete(change.key);
      else {
        drafts.set(change.key, {
          key: change.key,
          kind: change.kind,
          data: change.data,
          baseVersion: change.baseVersion ?? null,
          savedAt: change.savedAt,
          updatedAt: new Date().toISOString(),
        });
      }
      const current = this.recordVersions.get(change.key);
      const stale = change.baseVersion != null && current !== undefined && current > change.baseVersion;
      results.push(
        stale
          ? { mutationId: change.mutationId, status: 'stale', currentVersion: current }
          : { mutationId: change.mutationId, status: 'applied' },
      );
    }
    this.progress.set(progressKey, progress);
    const response: SyncResponse = {
      status: 'ok',
      synced,
      lastMutationId: progress.lastMutationId,
      results,
      serverTime: new Date().toISOString(),
    };
    return response;
  }
}
