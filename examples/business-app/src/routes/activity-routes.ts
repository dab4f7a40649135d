/**
 * `/activity`: the whole ActivityLog, newest first, filtered by model, user, action and date;
 * `/activity/:id`: one entry in full. Both read through the plugin's activity service, so they show
 * exactly what `/api/activity` would: others' IP addresses, request ids and preferences never.
 */
import type { FastifyInstance } from 'fastify';
import { ACTIVITY_ACTIONS, type ActivityQuery } from 'steadfast/persistence';
import { isStorableText } from 'steadfast/protocol';
import { z } from 'zod';
import { listActorChoices, resolveActorNames } from '../actor-names.js';
import { renderPage } from '../render.js';
import type { RouteDependencies } from './route-dependencies.js';

const PAGE_SIZE = 25;
/**
 * `Draft`: drafts the browser service synced (logged as `sync` by the HTTP layer); `Refusal`: what
 * a role was refused (logged as `refused`, roles.ts).
 */
export const ACTIVITY_MODELS = ['Product', 'Setting', 'User', 'Draft', 'Refusal'] as const;

const isoDate = z.iso.date();

/** The filters as the form sends them; anything malformed is dropped and reported, not fatal. */
const filterSchema = z.object({
  model: z.enum(ACTIVITY_MODELS).optional().catch(undefined),
  actor: z.string().trim().min(1).max(200).refine(isStorableText).optional().catch(undefined),
  action: z.enum(ACTIVITY_ACTIONS).optional().catch(undefined),
  from: isoDate.optional().catch(undefined),
  to: isoDate.optional().catch(undefined),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/)
    .optional()
    .catch(undefined),
});
type ActivityFilters = z.infer<typeof filterSchema>;

function nonEmpty(query: unknown): Record<string, string> {
  const fields = (query && typeof query === 'object' ? query : {}) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(fields).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '',
    ),
  );
}

/** The day after an ISO date: the "to" date is inclusive for people, exclusive for the log. */
function dayAfter(date: string): string {
  const next = new Date(`${date}T00:00:00.000Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString();
}

export function toActivityQuery(filters: ActivityFilters): ActivityQuery {
  return {
    model: filters.model,
    actor: filters.actor,
    action: filters.action,
    from: filters.from ? `${filters.from}T00:00:00.000Z` : undefined,
    // The last day there is has no day after it: no upper bound is the same filter.
    to: filters.to && filters.to < '9999-12-31' ? dayAfter(filters.to) : undefined,
    cursor: filters.cursor,
    limit: PAGE_SIZE,
  };
}

export function registerActivityRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { persistence } = dependencies;
  const { activity } = app.steadfast;

  app.get('/activity', { preHandler: app.requireUser }, async (request, reply) => {
    const raw = nonEmpty(request.query);
    const filters = filterSchema.parse(raw);
    // requireUser ran first. The page is bounded in bytes as the API is: a huge entry comes
    // shortened, with a link to the whole of it.
    const user = request.user as NonNullable<typeof request.user>;
    const { entries, nextCursor } = await activity.query(user, toActivityQuery(filters));
    const names = await resolveActorNames(
      persistence,
      entries.map((entry) => entry.actor),
    );
    const { cursor: _cursor, ...withoutCursor } = filters;
    const filterParams = new URLSearchParams(
      Object.entries(withoutCursor).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
    const nextPageUrl = nextCursor
      ? `/activity?${new URLSearchParams([...filterParams, ['cursor', nextCursor]]).toString()}`
      : null;
    const firstPageUrl = filters.cursor ? `/activity?${filterParams.toString()}` : null;
    return renderPage(
      persistence,
      request,
      reply,
      'activity',
      {
        filters,
        models: ACTIVITY_MODELS,
        actions: ACTIVITY_ACTIONS,
        actors: await listActorChoices(persistence),
        entries: entries.map((entry) => ({ ...entry, actorName: names.get(entry.actor) ?? entry.actor })),
        nextPageUrl,
        firstPageUrl,
      },
      { title: 'Activity', nav: 'activity' },
    );
  });

  app.get<{ Params: { id: string } }>(
    '/activity/:id',
    { preHandler: app.requireUser },
    async (request, reply) => {
      const user = request.user as NonNullable<typeof request.user>;
      // 404 for an id that is not one, as for an entry the user may not see.
      const entry = await activity
        .entry(user, /^[1-9]\d{0,15}$/.test(request.params.id) ? request.params.id : '0')
        .catch((error: unknown) => {
          if ((error as { code?: unknown }).code === 'invalid_request') return undefined;
          throw error;
        });
      if (!entry) {
        return renderPage(
          persistence,
          request,
          reply,
          'not-found',
          { message: 'There is no such log entry, or it is not yours to see.' },
          { title: 'Not found', status: 404, nav: 'activity' },
        );
      }
      const names = await resolveActorNames(persistence, [entry.actor]);
      return renderPage(
        persistence,
        request,
        reply,
        'activity-entry',
        { entry: { ...entry, actorName: names.get(entry.actor) ?? entry.actor } },
        { title: `Log entry ${entry.id}`, nav: 'activity' },
      );
    },
  );
}
