/**
 * Renders a page inside the one base layout, with what every page carries: the CSRF token for
 * forms and the browser service, the signed-in user, their theme, the company name, and the
 * draft keys to clear after an accepted submit.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Persistence } from 'steadfast/persistence';
import { PERMISSIONS, type Permissions, type Role, roleOf } from './roles.js';
import { sessionUserOf } from './session-user.js';
import {
  DEFAULT_APP_SETTINGS,
  DEFAULT_USER_PREFERENCES,
  readAppSettings,
  readUserPreferences,
  type Theme,
} from './settings.js';

export type NavSection = 'products' | 'settings' | 'activity' | 'status';

/** A one-time message for the next page, and the drafts the browser should drop there. */
export interface Flash {
  readonly message: string;
  readonly clearKeys: readonly string[];
}

declare module 'fastify' {
  interface Session {
    flash?: Flash;
  }
}

/** Shows `flash` on the page after the redirect (post/redirect/get). */
export function setFlash(request: FastifyRequest, flash: Flash): void {
  request.session.set('flash', flash);
}

function takeFlash(request: FastifyRequest): Flash | undefined {
  const flash = request.session.get('flash');
  if (flash !== undefined) request.session.set('flash', undefined);
  return flash;
}

export interface PageOptions {
  readonly title: string;
  readonly nav?: NavSection;
  readonly status?: number;
  /** Draft keys to clear on this page (a submit accepted without a redirect). */
  readonly clearKeys?: readonly string[];
  /**
   * False on pages served while the database may be down (/status): generating a token writes the
   * session, and a failing session write would hide the very page that explains the outage.
   */
  readonly csrf?: boolean;
  /** False on error pages: a pending flash message belongs to the next real page, not to them. */
  readonly flash?: boolean;
}

export interface LayoutData {
  readonly title: string;
  readonly nav: NavSection | null;
  readonly user: {
    readonly id: number;
    readonly username: string;
    readonly displayName: string;
    readonly role: Role | null;
  } | null;
  /** What the signed-in user's role may do: pages show only those actions (roles.ts). */
  readonly can: Permissions;
  readonly csrfToken: string | null;
  readonly companyName: string;
  readonly currency: string;
  readonly lowStockThreshold: number;
  readonly theme: Theme;
  readonly flashMessage: string | null;
  readonly clearKeys: readonly string[];
}

export async function renderPage(
  persistence: Persistence,
  request: FastifyRequest,
  reply: FastifyReply,
  view: string,
  data: Readonly<Record<string, unknown>>,
  options: PageOptions,
): Promise<string> {
  const user = sessionUserOf(request);
  const flash = user && options.flash !== false ? takeFlash(request) : undefined;
  let app = DEFAULT_APP_SETTINGS;
  let theme: Theme = DEFAULT_USER_PREFERENCES.theme;
  let role: Role | undefined;
  try {
    app = (await readAppSettings(persistence)).values;
    if (user) theme = (await readUserPreferences(persistence, user.id)).values.theme;
    if (user) role = await roleOf(persistence, user.id);
  } catch (error) {
    // The layout must still render (the status page reports the outage); defaults are honest
    // enough for a header.
    request.log.warn({ err: error }, 'settings unavailable; rendering with defaults');
  }
  const layout: LayoutData = {
    title: options.title,
    nav: options.nav ?? null,
    user: user
      ? { id: user.id, username: user.username, displayName: user.displayName, role: role ?? null }
      : null,
    // Unknown (signed out, or the database down): nothing to offer.
    can: PERMISSIONS[role ?? 'viewer'],
    csrfToken: options.csrf === false ? null : reply.generateCsrf(),
    companyName: app.companyName,
    currency: app.currency,
    lowStockThreshold: app.lowStockThreshold,
    theme,
    flashMessage: flash?.message ?? null,
    clearKeys: [...(flash?.clearKeys ?? []), ...(options.clearKeys ?? [])],
  };
  // Pages carry a CSRF token and, signed in, a person's data: no cache may keep them (a shared
  // one would show them to the next visitor, the browser's to the next user of the machine).
  reply
    .code(options.status ?? 200)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store');
  return reply.viewAsync(view, { ...data, layout });
}
