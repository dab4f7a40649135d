/**
 * The browser script as both helpers serve it (registerBrowserScript, browserScriptRouter): the
 * build's Brotli or gzip file to a browser that accepts one, the script as it is to any other
 * client, read as raw bytes off a real socket (fetch would decompress them out of sight).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import express from 'express';
import fc from 'fast-check';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBrowserScript } from '../../../packages/steadfast/src/http/adapters/fastify/browser-script.js';
import { chooseScriptEncoding } from '../../../packages/steadfast/src/http/browser-script.js';
import { browserScriptRouter } from '../../../packages/steadfast/src/http/express.js';
import { BUNDLE_PATH } from '../../support/autosave-test-server.js';

const PATH = '/assets/auto-save-service.js';
const script = readFileSync(BUNDLE_PATH);

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: '127.0.0.1', port, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    });
    sent.on('error', reject);
    sent.end();
  });
}

const ports: Record<'fastify' | 'express', number> = { fastify: 0, express: 0 };
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  const fastify = Fastify();
  registerBrowserScript(fastify, { path: PATH, maxAgeSeconds: 60 });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  ports.fastify = (fastify.server.address() as AddressInfo).port;
  closers.push(() => fastify.close());
  const server = express()
    .use(browserScriptRouter({ path: PATH, maxAgeSeconds: 60 }))
    .listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  ports.express = (server.address() as AddressInfo).port;
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
});
afterAll(async () => {
  for (const close of closers) await close();
});

describe.each(['fastify', 'express'] as const)('the browser script served by %s', (adapter) => {
  it('sends the build’s Brotli to a browser that accepts it: the very script, smaller than the gzip', async () => {
    const answer = await get(ports[adapter], PATH, { 'accept-encoding': 'gzip, deflate, br, zstd' });
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({
      'content-encoding': 'br',
      vary: 'Accept-Encoding',
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=60',
      'x-content-type-options': 'nosniff',
    });
    expect(answer.body).toEqual(readFileSync(`${BUNDLE_PATH}.br`));
    expect(brotliDecompressSync(answer.body)).toEqual(script);
    expect(answer.body.length).toBeLessThan(readFileSync(`${BUNDLE_PATH}.gz`).length);
  });

  it.each([
    ['gzip only', 'gzip'],
    ['gzip preferred by q', 'br;q=0.5, gzip'],
  ])('sends the build’s gzip (%s): the very script, smaller than zlib’s best', async (_case, header) => {
    const answer = await get(ports[adapter], PATH, { 'accept-encoding': header });
    expect(answer.headers).toMatchObject({ 'content-encoding': 'gzip', vary: 'Accept-Encoding' });
    expect(answer.body).toEqual(readFileSync(`${BUNDLE_PATH}.gz`));
    expect(gunzipSync(answer.body)).toEqual(script);
    expect(answer.body.length).toBeLessThan(gzipSync(script, { level: 9 }).length);
  });

  it.each([
    ['no Accept-Encoding', {}],
    ['both refused (q=0)', { 'accept-encoding': 'gzip;q=0, br;q=0, deflate' }],
    ['only identity', { 'accept-encoding': 'identity' }],
    ['everything but these two', { 'accept-encoding': '*, gzip;q=0, br;q=0' }],
  ] as const)('sends the script as it is with %s', async (_case, headers) => {
    const answer = await get(ports[adapter], PATH, headers);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.headers.vary).toBe('Accept-Encoding');
    expect(answer.body).toEqual(script);
  });

  it('answers 304 to a copy still current (its ETag), each encoding a representation of its own', async () => {
    const port = ports[adapter];
    const encodings = ['br', 'gzip', 'identity'];
    const answers = await Promise.all(
      encodings.map((coding) => get(port, PATH, { 'accept-encoding': coding })),
    );
    const etags = answers.map((answer) => answer.headers.etag);
    for (const etag of etags) expect(etag).toMatch(/^"[\w-]{27}"$/);
    expect(new Set(etags).size).toBe(encodings.length);
    for (const [index, coding] of encodings.entries()) {
      const etag = String(etags[index]);
      const again = await get(port, PATH, { 'accept-encoding': coding, 'if-none-match': etag });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      expect(again.headers).toMatchObject({
        etag,
        vary: 'Accept-Encoding',
        'cache-control': 'public, max-age=60',
      });
      // Another representation's tag, or a reload that asks past the cache, gets the whole script.
      const other = String(etags[(index + 1) % encodings.length]);
      expect((await get(port, PATH, { 'accept-encoding': coding, 'if-none-match': other })).status).toBe(200);
      const reload = { 'accept-encoding': coding, 'if-none-match': etag, 'cache-control': 'no-cache' };
      expect((await get(port, PATH, reload)).status).toBe(200);
    }
    const map = await get(port, `${PATH}.map`, {});
    const mapAgain = await get(port, `${PATH}.map`, { 'if-none-match': String(map.headers.etag) });
    expect(mapAgain.status).toBe(304);
  });

  it('sends the source map as it is', async () => {
    const answer = await get(ports[adapter], `${PATH}.map`, { 'accept-encoding': 'gzip' });
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.body).toEqual(readFileSync(`${BUNDLE_PATH}.map`));
  });
});

describe('chooseScriptEncoding', () => {
  const BOTH = ['br', 'gzip'] as const;
  it.each([
    ['gzip', BOTH, 'gzip'],
    ['GZIP', BOTH, 'gzip'],
    ['gzip, deflate, br', BOTH, 'br'],
    ['br;q=0.5, gzip', BOTH, 'gzip'],
    ['deflate, gzip;q=0.5', BOTH, 'gzip'],
    ['*', BOTH, 'br'],
    ['zstd;q=1, *;q=0.1', BOTH, 'br'],
    ['gzip, br', ['gzip'] as const, 'gzip'],
    ['br', ['gzip'] as const, undefined],
    ['gzip;q=0', BOTH, undefined],
    ['gzip;q=0.000, br;q=0', BOTH, undefined],
    ['identity', BOTH, undefined],
    ['', BOTH, undefined],
    ['*;q=0', BOTH, undefined],
  ])('%j of %j → %s', (header, available, expected) => {
    expect(chooseScriptEncoding({ 'accept-encoding': header }, available)).toBe(expected);
  });

  it('answers one of those offered, or none, for any header a client can send, and never throws', () => {
    fc.assert(
      fc.property(
        fc.option(fc.oneof(fc.string(), fc.array(fc.string()))),
        fc.subarray([...BOTH]),
        (header, available) => {
          const headers = header === null ? {} : { 'accept-encoding': header };
          const chosen = chooseScriptEncoding(headers, available);
          expect(chosen === undefined || available.includes(chosen)).toBe(true);
        },
      ),
    );
  });
});
