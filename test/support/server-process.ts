/**
 * The real app as a separate process (`node --import tsx examples/business-app/src/main.ts`), for tests that kill
 * it, restart it, or run two of it on one database; plus a small HTTP client over node:http that
 * keeps a cookie jar, reads the CSRF token from `<meta name="csrf-token">` like the pages' script,
 * and can choose its source address (each 127.0.0.x is its own IP to per-IP rate limits).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROCESS_SESSION_SECRET = 'server-process-session-secret-0123456789abcdef';

/** A free TCP port on 127.0.0.1 (reused across restarts, so clients keep one URL). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/**
 * The environment of a server under a load generator: its clients loop as fast as the server
 * answers, far beyond the per-user sync limit meant for browsers, and a 429 would make them wait a
 * minute. What those runs test is delivery under load and faults; the limit has tests of its own.
 */
export const LOAD_TEST_ENV: Readonly<Record<string, string>> = {
  SYNC_RATE_LIMIT_PER_MINUTE: '1000000',
  SYNC_CHANGES_PER_MINUTE: '1000000000',
  SYNC_BYTES_PER_MINUTE: '1000000000000',
};

export interface ServerProcessOptions {
  readonly databaseUrl: string;
  readonly port?: number;
  readonly sessionSecret?: string;
  /** Extra environment, e.g. NODE_ENV. */
  readonly env?: Readonly<Record<string, string>>;
  /** Milliseconds to wait for /health after spawning. */
  readonly startTimeoutMs?: number;
}

/** One app process; `start()` again after `kill()` restarts it on the same port and database. */
export class ServerProcess {
  readonly port: number;
  readonly baseUrl: string;
  readonly #options: ServerProcessOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  readonly recentOutput: string[] = [];

  private constructor(options: ServerProcessOptions, port: number) {
    this.#options = options;
    this.port = port;
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const server = new ServerProcess(options, options.port ?? (await freePort()));
    await server.start();
    return server;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(): Promise<void> {
    if (this.#child) throw new Error('server process already running');
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/business-app/src/main.ts'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        DATABASE_URL: this.#options.databaseUrl,
        SESSION_SECRET: this.#options.sessionSecret ?? PROCESS_SESSION_SECRET,
        NODE_ENV: 'development',
        ...this.#options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const remember = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        this.recentOutput.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
        if (this.recentOutput.length > 40) this.recentOutput.shift();
      }
    };
    child.stdout?.on('data', remember);
    child.stderr?.on('data', remember);
    this.#exited = new Promise<void>((done) => {
      child.once('exit', () => {
        if (this.#child === child) this.#child = undefined;
        done();
      });
    });
    await this.waitForHealth(this.#options.startTimeoutMs ?? 30_000);
  }

  async waitForHealth(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.#child) {
        throw new Error(`server process exited before /health answered:\n${this.recentOutput.join('\n')}`);
      }
      try {
        const response = await send({ url: `${this.baseUrl}/health`, timeoutMs: 2000 });
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`server process did not become healthy:\n${this.recentOutput.join('\n')}`);
      }
      await sleep(50);
    }
  }

  /** SIGKILL: no shutdown hook, no flush; whatever is not on disk is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM and wait (graceful shutdown). */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export interface HttpRequest {
  readonly url: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Source address, e.g. 127.0.0.7. */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** One request over a fresh connection; rejects on a network error or timeout. */
export function send(request: HttpRequest): Promise<HttpResponse> {
  return new Promise((done, fail) => {
    const url = new URL(request.url);
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: request.method ?? 'GET',
        headers: {
          ...(request.body === undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(request.body)) }),
          ...request.headers,
        },
        localAddress: request.localAddress,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          done({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
        response.on('error', fail);
      },
    );
    outgoing.setTimeout(request.timeoutMs ?? 30_000, () => outgoing.destroy(new Error('request timed out')));
    outgoing.on('error', fail);
    if (request.body !== undefined) outgoing.write(request.body);
    outgoing.end();
  });
}

/** The value of `<meta name="csrf-token">` in a page, if any. */
export function csrfTokenOf(html: string): string | undefined {
  return /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1];
}

/** A browser-like HTTP client of one server: cookie jar, CSRF token from the last page. */
export class WebClient {
  readonly cookies = new Map<string, string>();
  csrfToken: string | undefined;
  baseUrl: string;
  readonly localAddress: string | undefined;

  constructor(baseUrl: string, options: { localAddress?: string } = {}) {
    this.baseUrl = baseUrl;
    this.localAddress = options.localAddress;
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(path: string, init: Omit<HttpRequest, 'url'> = {}): Promise<HttpResponse> {
    const response = await send({
      ...init,
      url: new URL(path, this.baseUrl).toString(),
      localAddress: init.localAddress ?? this.localAddress,
      headers: { ...(this.cookies.size > 0 ? { cookie: this.cookieHeader } : {}), ...init.headers },
    });
    const setCookie = response.headers['set-cookie'];
    for (const cookie of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair = '', ...attributes] = cookie.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (value === '' || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const token = csrfTokenOf(response.text);
    if (token) this.csrfToken = token;
    return response;
  }

  /** A urlencoded form POST carrying the last page's CSRF token, like a form submit. */
  postForm(path: string, fields: Readonly<Record<string, string>>): Promise<HttpResponse> {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ _csrf: this.csrfToken ?? '', ...fields }).toString(),
    });
  }

  /** A JSON POST with the token in `x-csrf-token`, like the auto-save script. */
  postJson(path: string, body: unknown): Promise<HttpResponse> {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': this.csrfToken ?? '' },
      body: JSON.stringify(body),
    });
  }

  /** Signs in through the login form, then loads /products for the signed-in session's token. */
  async signIn(username: string, password: string): Promise<void> {
    await this.request('/login', { headers: { accept: 'text/html' } });
    const response = await this.postForm('/login', { username, password });
    if (response.status !== 303) {
      throw new Error(`sign-in of ${username} answered ${response.status}: ${response.text.slice(0, 200)}`);
    }
    const page = await this.request('/products', { headers: { accept: 'text/html' } });
    if (page.status !== 200) throw new Error(`/products after sign-in answered ${page.status}`);
  }
}
