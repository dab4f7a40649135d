/** `GET /api/autosave/base/?key=…&version=…`: a stale draft's base and the current record. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BASE_PATH } from '../protocol/constants.js';
import { readDraftBase } from '../sync/base-service.js';
import type { RecordForKey } from '../sync/sync-service.js';

export function registerBaseRoute(app: FastifyInstance, recordForKey: RecordForKey): void {
  app.get(BASE_PATH, { onRequest: [app.requireUser] }, async (request, reply) => {
    // A user's record as it was and is: never kept by a cache, like the drafts it is read beside.
    reply.header('cache-control', 'no-store');
    return readDraftBase(
      app.persistence,
      recordForKey,
      request.user as NonNullable<FastifyRequest['user']>,
      request.query,
    );
  });
}
