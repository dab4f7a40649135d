/**
 * A browser stand-in over `inject`: a cookie jar, the CSRF token of the last page seen (from
 * `<meta name="csrf-token">`), form and JSON posts, and its own remote address, so per-IP rate
 * limits see each client as a different machine.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

let addressCounter = 10;

export interface Sent {
  readonly statusCode: number;
  readonly body: string;
  readonly headers: LightMyRequestResponse['headers'];
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies.
  readonly json: any;
}

export class BrowserLikeClient {
  readonly cookies = new Map<string, string>();
  csrfToken: string | undefined;
  readonly remoteAddress: string;

  constructor(
    private readonly app: FastifyInstance,
    remoteAddress?: string,
  ) {
    addressCounter += 1;
    this.remoteAddress = remoteAddress ?? `10.9.${Math.floor(addressCounter / 250)}.${addressCounter % 250}`;
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async send(
    method: 'GET' | 'POST',
    url: string,
    options: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<Sent> {
    const response = await this.app.inject({
      method,
      url,
      remoteAddress: this.remoteAddress,
      headers: { accept: 'text/html', cookie: this.cookieHeader, ...options.headers },
      ...(options.body === undefined ? {} : { payload: options.body }),
    });
    for (const cookie of response.cookies) {
      if (cookie.value === '' || (cookie.expires && cookie.expires.getTime() < Date.now())) {
        this.cookies.delete(cookie.name);
      } else {
        this.cookies.set(cookie.name, cookie.value);
      }
    }
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(response.body)?.[1];
    if (token) this.csrfToken = token;
    let json: unknown;
    try {
      json = JSON.parse(response.body);
    } catch {
      json = undefined;
    }
    return { statusCode: response.statusCode, body: response.body, headers: response.headers, json };
  }

  get(url: string): Promise<Sent> {
    return this.send('GET', url);
  }

  /** A form post; `_csrf` is the last page's token unless the fields name their own. */
  postForm(url: string, fields: Readonly<Record<string, string>>, withToken = true): Promise<Sent> {
    const all = withToken ? { _csrf: this.csrfToken ?? '', ...fields } : fields;
    return this.send('POST', url, {
      body: new URLSearchParams(all).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  /** A JSON post, token in `x-csrf-token` like the auto-save script (unless `withToken` is false). */
  postJson(url: string, body: unknown, withToken = true): Promise<Sent> {
    return this.send('POST', url, {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(withToken ? { 'x-csrf-token': this.csrfToken ?? '' } : {}),
      },
    });
  }

  async signIn(username: string, password: string): Promise<Sent> {
    await this.get('/login');
    const response = await this.postForm('/login', { username, password });
    if (response.statusCode === 303) await this.get('/products');
    return response;
  }
}
