/**
 * The browser script as both helpers serve it (registerBrowserScript, browserScriptRouter): the
 * build's gzipped file to a browser that accepts gzip, the script as it is to any other client,
 * read as raw bytes off a real socket (fetch would decompress them out of sight).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import express from 'express';
import fc from 'fast-check';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBrowserScript } from '../../../packages/steadfast/src/http/adapters/fastify/browser-script.js';
import { acceptsGzip } from '../../../packages/steadfast/src/http/browser-script.js';
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
  it('sends the build’s gzip to a browser that accepts it: the very script, smaller than zlib’s best', async () => {
    const answer = await get(ports[adapter], PATH, { 'accept-encoding': 'gzip, deflate, br, zstd' });
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({
      'content-encoding': 'gzip',
      vary: 'Accept-Encoding',
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=60',
      'x-content-type-options': 'nosniff',
    });
    expect(answer.body).toEqual(readFileSync(`${BUNDLE_PATH}.gz`));
    expect(gunzipSync(answer.body)).toEqual(script);
    expect(answer.body.length).toBeLessThan(gzipSync(script, { level: 9 }).length);
  });

  it.each([
    ['no Accept-Encoding', {}],
    ['gzip refused (q=0)', { 'accept-encoding': 'gzip;q=0, br' }],
    ['only identity', { 'accept-encoding': 'identity' }],
    ['everything but gzip', { 'accept-encoding': '*, gzip;q=0' }],
  ] as const)('sends the script as it is with %s', async (_case, headers) => {
    const answer = await get(ports[adapter], PATH, headers);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.headers.vary).toBe('Accept-Encoding');
    expect(answer.body).toEqual(script);
  });

  it('sends the source map as it is', async () => {
    const answer = await get(ports[adapter], `${PATH}.map`, { 'accept-encoding': 'gzip' });
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.body).toEqual(readFileSync(`${BUNDLE_PATH}.map`));
  });
});

describe('acceptsGzip', () => {
  it.each([
    ['gzip', true],
    ['GZIP', true],
    ['deflate, gzip;q=0.5', true],
    ['*', true],
    ['br;q=1, *;q=0.1', true],
    ['gzip;q=0', false],
    ['gzip;q=0.000', false],
    ['identity', false],
    ['', false],
    ['*;q=0', false],
  ])('%j → %s', (header, expected) => {
    expect(acceptsGzip({ 'accept-encoding': header })).toBe(expected);
  });

  it('answers a boolean for any header a client can send, never throws', () => {
    fc.assert(
      fc.property(fc.option(fc.oneof(fc.string(), fc.array(fc.string()))), (header) => {
        const headers = header === null ? {} : { 'accept-encoding': header };
        expect(typeof acceptsGzip(headers)).toBe('boolean');
      }),
    );
  });
});
