/**
 * A signed-in browser, minus the browser: keeps cookies between `inject` calls and reads the CSRF
 * token from each page's `<meta name="csrf-token">`, as the real pages' forms and script do.
 */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

export interface PageResponse {
  readonly statusCode: number;
  readonly body: string;
  readonly location: string | undefined;
}

export class PageClient {
  readonly #cookies = new Map<string, string>();
  #csrfToken: string | undefined;

  constructor(private readonly app: FastifyInstance) {}

  get csrfToken(): string | undefined {
    return this.#csrfToken;
  }

  /** The cookies held, as a `cookie` header (for requests made beside this client). */
  get cookieHeader(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async get(url: string): Promise<PageResponse> {
    return this.#send('GET', url);
  }

  /** Posts a form with the token of the last page seen, like a submit from that page. */
  async post(url: string, fields: Readonly<Record<string, string>>): Promise<PageResponse> {
    const body = new URLSearchParams({ _csrf: this.#csrfToken ?? '', ...fields }).toString();
    return this.#send('POST', url, body);
  }

  /** Posts JSON with the page's token in `x-csrf-token`, as the browser service does. */
  async postJson(url: string, payload: unknown): Promise<PageResponse> {
    return this.#send('POST', url, JSON.stringify(payload), 'application/json');
  }

  async signIn(username: string, password: string): Promise<void> {
    await this.get('/login');
    const response = await this.post('/login', { username, password });
    expect(response.statusCode, `sign-in of ${username}`).toBe(303);
  }

  async #send(
    method: 'GET' | 'POST',
    url: string,
    body?: string,
    contentType = 'application/x-www-form-urlencoded',
  ): Promise<PageResponse> {
    const response = await this.app.inject({
      method,
      url,
      headers: {
        accept: 'text/html',
        cookie: this.cookieHeader,
        ...(body === undefined ? {} : { 'content-type': contentType }),
        ...(contentType === 'application/json' ? { 'x-csrf-token': this.#csrfToken ?? '' } : {}),
      },
      payload: body,
    });
    for (const cookie of response.cookies) {
      if (cookie.value === '' || (cookie.expires && cookie.expires.getTime() < Date.now())) {
        this.#cookies.delete(cookie.name);
      } else {
        this.#cookies.set(cookie.name, cookie.value);
      }
    }
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(response.body)?.[1];
    if (token) this.#csrfToken = token;
    const location = response.headers.location;
    return {
      statusCode: response.statusCode,
      body: response.body,
      location: typeof location === 'string' ? location : undefined,
    };
  }
}

/** The `content` of every `<meta name="autosave-clear">` on a page. */
export function clearedDraftKeys(html: string): string[] {
  return [...html.matchAll(/<meta name="autosave-clear" content="([^"]*)">/g)].map((match) => match[1] ?? '');
}

/** The value attribute of the input named `name`. */
export function inputValue(html: string, name: string): string | undefined {
  const tag = new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(html)?.[0];
  return tag ? /value="([^"]*)"/.exec(tag)?.[1] : undefined;
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
};

/** Every `<input type="hidden">` of the form with id `formId`, unescaped: what a submit would post. */
export function hiddenFields(html: string, formId: string): Record<string, string> {
  const form = new RegExp(`<form[^>]*id="${formId}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1];
  if (form === undefined) throw new Error(`no form #${formId} on the page`);
  const fields: Record<string, string> = {};
  for (const [tag] of form.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(tag)?.[1];
    const value = /value="([^"]*)"/.exec(tag)?.[1] ?? '';
    if (name) fields[name] = value.replace(/&(amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity);
  }
  return fields;
}
