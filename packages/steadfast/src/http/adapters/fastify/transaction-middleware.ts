/**
 * Per-request transactions, like Django's ATOMIC_REQUESTS: every POST/PUT/PATCH/DELETE to a route
 * whose `config.transaction` is not false runs in one database transaction, committed before the
 * response is sent, rolled back when the handler throws or answers with a status of 400 or more.
 * Every request, writing or not, runs as its actor (user id or `system`, request id, IP), so the
 * change tracker logs who did what.
 *
 * Fastify's hooks cannot wrap the handler in a function, so the scope is entered in a
 * callback-style preHandler (`scope.enter(done)`: the rest of the request runs inside the frame)
 * and ended in onSend, where the status is known and nothing has been written to the socket yet.
 * A request without a transaction enters its actor's frame synchronously, with nothing to end.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Persistence } from '../../../persistence/create-persistence.js';
import type { Scope } from '../../../persistence/transaction-context.js';
import { SYSTEM_ACTOR } from '../../../persistence/transaction-context.js';
import { toApiError } from '../../error-handler.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** False: the route manages its own transactions (sync's group commit). Default true. */
    transaction?: boolean;
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const scopes = new WeakMap<FastifyRequest, Scope>();
/** `runAs` wants a promise back; a frame entered only to run the rest of a request returns this settled one. */
const ENTERED = Promise.resolve();

export interface TransactionMiddlewareOptions {
  readonly persistence: Persistence;
  readonly onRollback?: (reason: 'error_status' | 'aborted' | 'commit_failed') => void;
}

export function registerTransactionMiddleware(
  app: FastifyInstance,
  options: TransactionMiddlewareOptions,
): void {
  const { persistence, onRollback } = options;

  app.addHook('preHandler', (request, _reply, done) => {
    const transaction =
      WRITE_METHODS.has(request.method) && request.routeOptions.config?.transaction !== false;
    const actor = {
      actor: request.user ? String(request.user.id) : SYSTEM_ACTOR,
      requestId: request.id,
      ip: request.ip,
    };
    if (!transaction) {
      // No transaction to open, so no promise to wait for: the request enters its actor's frame at
      // once (as openScope's non-transactional scope would, one microtask later) and has nothing to end.
      persistence.runAs(actor, () => {
        done();
        return ENTERED;
      });
      return;
    }
    persistence.context.openScope(actor, { transaction }).then(
      (scope) => {
        scopes.set(request, scope);
        scope.enter(done);
      },
      (error: unknown) => done(error as Error),
    );
  });

  // Callback-style hooks: most requests have no transaction to end, and an async hook would cost
  // them a promise each.
  app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done) => {
    const scope = scopes.get(request);
    if (!scope?.transactional || !scope.open) {
      done(null, payload);
      return;
    }
    endTransaction(request, reply, scope, payload).then(
      (sent) => done(null, sent),
      (error: unknown) => done(error as Error),
    );
  });

  async function endTransaction(
    request: FastifyRequest,
    reply: FastifyReply,
    scope: Scope,
    payload: unknown,
  ): Promise<unknown> {
    if (reply.statusCode >= 400) {
      onRollback?.('error_status');
      await scope.rollback().catch((error: unknown) => request.log.warn({ err: error }, 'rollback failed'));
      return payload;
    }
    try {
      await scope.commit();
      return payload;
    } catch (error) {
      // The handler's work is not durable: the client must not hear that it succeeded.
      onRollback?.('commit_failed');
      request.log.error({ err: error }, 'request transaction failed to commit');
      const response = toApiError(error);
      const status = Math.max(response.status, 500);
      reply.code(status).headers(response.headers).type('application/json; charset=utf-8');
      return JSON.stringify(response.body);
    }
  }

  // A request that ended without onSend (a hook failed late) must not leave a transaction open.
  // Not onRequestAbort/onTimeout: they fire while the handler may still be writing, and a scope
  // closed under it would send its later writes to the root database, outside any transaction.
  app.addHook('onResponse', (request: FastifyRequest, _reply, done) => {
    const scope = scopes.get(request);
    if (scope?.transactional && scope.open) {
      onRollback?.('aborted');
      scope.rollback().then(
        () => done(),
        () => done(),
      );
      return;
    }
    done();
  });
}
