/**
 * Who may read `/metrics`: a request carrying the configured bearer token, or anyone reaching the
 * listener of its own (`metrics.listen`, by default on 127.0.0.1 only). The Prometheus text tells
 * the Node version, heap, start time and per-route traffic: nothing to show the whole internet.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ApiError } from '../sync/api-error.js';

export const METRICS_PATH = '/metrics';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** True when `authorization` is `Bearer <token>`; compared in constant time. */
export function hasMetricsToken(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), digest(token));
}

/** The 401 for a metrics request without the token (`WWW-Authenticate: Bearer`). */
export function metricsTokenRequired(): ApiError {
  return new ApiError('unauthenticated', 'Send the metrics token as Authorization: Bearer <token>.');
}

export interface MetricsListener {
  /** Where it listens (port 0 picks a free one). */
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` from `registry` on a listener of its own (a port Prometheus reaches and
 * the public does not), with the token when one is given; everything else is 404.
 */
export async function startMetricsListener(
  registry: Registry,
  listen: { readonly port: number; readonly host: string },
  token: string | undefined,
): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const answer = (status: number, error: string, message: string, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify({ error, message }));
    };
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== METRICS_PATH) {
      answer(404, 'not_found', `${METRICS_PATH} is the only route here.`);
      return;
    }
    if (token !== undefined && !hasMetricsToken(request.headers.authorization, token)) {
      const error = metricsTokenRequired();
      answer(401, error.code, error.message, { 'www-authenticate': 'Bearer realm="metrics"' });
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        response.end(text);
      },
      () => answer(500, 'internal_error', 'Something went wrong on the server.'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
