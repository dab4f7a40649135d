/**
 * Fastify's error handler over the one error map (toApiError): the plugin sets it, and an app's
 * own error handler can hand API requests to it. 5xx are logged with the error; 4xx are the
 * client's business.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from '../../error-handler.js';

export function fastifyErrorHandler(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const response = toApiError(error);
  if (response.status >= 500 && response.status !== 503) request.log.error({ err: error }, 'request failed');
  else if (response.status === 503) request.log.warn({ err: error }, 'storage unavailable');
  return reply
    .code(response.status)
    .headers(response.headers)
    .type('application/json; charset=utf-8')
    .send(response.body);
}
