/**
 * Errors on the app's pages answered as pages. A browser that posts a form with a stale CSRF token,
 * signs in too often, or meets an outage gets a page in the app's layout that says what happened
 * and what to do, not the API's `{error, message}` JSON. Requests that do not ask for HTML (the
 * browser service, scripts, tests) still get the JSON answer, with the same status and headers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fastifyErrorHandler, toApiError } from 'steadfast/fastify';
import type { Persistence } from 'steadfast/persistence';
import { renderPage } from './render.js';

interface PageErrorText {
  readonly title: string;
  readonly message: string;
  readonly hint?: string;
}

/** What a person reads for each answer; `message` is the API's own text where it is already plain. */
export function pageErrorText(status: number, error: string, message: string): PageErrorText {
  if (error === 'csrf_invalid') {
    return {
      title: 'This form has expired',
      message: 'The form was sent from a page opened before your session changed, so it was not accepted.',
      hint: 'What you typed is kept as a draft on this device: go back, reload the page, and send it again.',
    };
  }
  switch (status) {
    case 403:
      // The role's rule (roles.ts) says what was refused, in words meant for the user.
      return {
        title: 'Not allowed',
        message,
        hint: 'Nothing was changed. If you need to do this, ask an administrator.',
      };
    case 404:
      return { title: 'Not found', message: 'There is no such page. The link may be wrong or out of date.' };
    case 413:
      return { title: 'Too large', message: 'What you sent is larger than this server accepts.' };
    case 429:
      return {
        title: 'Too many attempts',
        message: 'Too many requests came from here in a short time.',
        hint: 'Wait a minute, then try again.',
      };
    case 503:
      return {
        title: 'Temporarily unavailable',
        message: 'The database is unavailable right now; nothing was saved to the server.',
        hint: 'Your changes are kept on this device. Try again in a moment.',
      };
    default:
      return status >= 500
        ? {
            title: 'Something went wrong',
            message: 'The server failed to handle this request; nothing was saved.',
          }
        : { title: 'This request could not be handled', message };
  }
}

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

/** The error handler of the page routes (set on their encapsulated scope). */
export function pageErrorHandler(persistence: Persistence) {
  return async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (!wantsHtml(request)) return fastifyErrorHandler(error, request, reply);
    const { status, body, headers } = toApiError(error);
    if (status >= 500 && status !== 503) request.log.error({ err: error }, 'request failed');
    const text = pageErrorText(status, body.error, body.message);
    const signedIn = request.user !== null && request.user !== undefined;
    try {
      const html = await renderPage(
        persistence,
        request,
        reply.headers(headers),
        'error',
        {
          message: text.message,
          hint: text.hint ?? null,
          backHref: signedIn ? '/products' : '/login',
          backLabel: signedIn ? 'Back to products' : 'Go to sign-in',
        },
        // No token on an error page: generating one writes the session, which may be the fault.
        { title: text.title, status, csrf: false, flash: false },
      );
      return reply.send(html);
    } catch (renderError) {
      request.log.error({ err: renderError }, 'error page failed to render');
      return fastifyErrorHandler(error, request, reply);
    }
  };
}
