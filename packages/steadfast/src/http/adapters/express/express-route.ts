/**
 * One row of the route table (route-table.ts) on an Express router: the request translated into a
 * RouteRequest, the row's checks before the body, `express.json` with the row's limit, the
 * handler, and its RouteReply translated back. Errors go to the router's error handler.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Route, RouteReply, RouteRequest } from '../../route-table.js';
import type { Authenticated } from '../../session-reader.js';

/** Who the request is, for rows that need a signed-in user. */
export type ExpressAuthenticate = (request: Request) => Promise<Authenticated | null>;

const routeRequestKey = Symbol('steadfast.routeRequest');
type WithRouteRequest = Request & { [routeRequestKey]?: RouteRequest<Request> };

/**
 * The id logged with each change the request makes: the one the app's own middleware gave the
 * request (`request.id`, as pino-http and express-request-id set it), else a new one. Never a
 * header the client sent: it would go into the audit log unchecked. Fastify's `request.id` is the
 * same choice (generated, unless the app configures where it comes from).
 */
function requestIdOf(request: Request): string {
  const { id } = request as Request & { id?: unknown };
  return typeof id === 'string' || typeof id === 'number' ? String(id) : randomUUID();
}

function sendReply(response: Response, reply: RouteReply): void {
  response.status(reply.status).set(reply.headers);
  const { body } = reply;
  if (typeof body === 'string' || Buffer.isBuffer(body)) response.send(body);
  else response.json(body);
}

/**
 * body-parser set to read what Fastify's JSON parser reads: any JSON value, and whatever `admit`
 * let through (it checked the content type, charset and coding), with an empty body an error as
 * there rather than `{}`.
 */
function jsonBody(limit: number) {
  return express.json({
    limit,
    strict: false,
    type: () => true,
    verify: (_request, _response, body) => {
      if (body.length === 0) {
        throw Object.assign(new Error('empty body'), { status: 400, type: 'entity.empty' });
      }
    },
  });
}

export function addRoute(
  router: Router,
  route: Route<Request>,
  authenticate: ExpressAuthenticate = async () => null,
): void {
  const { admit, jsonBodyLimit } = route;
  // Built once, before the body is read: Express parses `query` and `ip` on every access.
  const translate = async (request: Request, _response: Response, next: NextFunction) => {
    const auth = route.signedIn ? await authenticate(request) : null;
    const routeRequest: RouteRequest<Request> = {
      params: request.params,
      query: request.query,
      body: undefined,
      headers: request.headers,
      ip: request.ip,
      requestId: requestIdOf(request),
      user: auth?.user ?? null,
      csrfSecret: auth?.csrfSecret,
      raw: request,
    };
    (request as WithRouteRequest)[routeRequestKey] = routeRequest;
    await admit?.(routeRequest);
    next();
  };
  const handle = async (request: Request, response: Response) => {
    const translated = (request as WithRouteRequest)[routeRequestKey] as RouteRequest<Request>;
    const reply = await route.handle(
      jsonBodyLimit === undefined ? translated : { ...translated, body: request.body },
    );
    sendReply(response, reply);
  };
  const method = route.method === 'GET' ? 'get' : 'post';
  if (jsonBodyLimit === undefined) router[method](route.path, translate, handle);
  else router[method](route.path, translate, jsonBody(jsonBodyLimit), handle);
}
