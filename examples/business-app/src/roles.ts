/**
 * Who may do what in the demo: each user has a role, and the persistence layer asks
 * `authorizeByRole` (its `authorize` option) before every write and every read of the log, so
 * the rule holds whichever page or API the request comes through. The pages ask `permissionsOf`
 * only to hide what a role cannot do.
 *
 * - admin: everything, the company settings and reverts included;
 * - editor: products (create, change, delete), not the company settings, not reverts;
 * - viewer: reads only.
 *
 * Everyone may read the log (what of it they see is the plugin's visibility rules), keep drafts
 * (the browser service's, never records) and save their own preferences (`user.<id>.*` settings:
 * how their pages look, nobody else's business).
 */
import type { AuthorizeDecision, AuthorizeRequest, Persistence } from 'steadfast/persistence';
import { reader } from './database-reader.js';

export const ROLES = ['admin', 'editor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** What a role may do, as the pages need to know it. */
export interface Permissions {
  readonly editProducts: boolean;
  readonly revert: boolean;
  readonly companySettings: boolean;
  /** Users' records (the demo has no page for them; scripts make users). */
  readonly users: boolean;
  /**
   * Everyone's IP addresses and request ids in the log, and what the status checks found: an
   * operator's view. Others see their own entries in full and others' without them.
   */
  readonly operatorDetail: boolean;
}

export const PERMISSIONS: Readonly<Record<Role, Permissions>> = {
  admin: { editProducts: true, revert: true, companySettings: true, users: true, operatorDetail: true },
  editor: { editProducts: true, revert: false, companySettings: false, users: false, operatorDetail: false },
  viewer: { editProducts: false, revert: false, companySettings: false, users: false, operatorDetail: false },
};

/** Why a role is refused, in words for the person refused (the hook's reasons, and the pages'). */
export const REFUSALS = {
  products: 'Your account can look at products but not change them.',
  revert: 'Only an administrator can revert a change.',
  companySettings: 'Only an administrator can change the company settings.',
  gone: 'Your account no longer exists.',
} as const;

/** Nothing allowed: for a user who no longer exists. */
const NONE: Permissions = PERMISSIONS.viewer;

/** Actors that are users: the log names them by their numeric id. */
const USER_ACTOR = /^[1-9]\d{0,15}$/;

/** The user's role as stored now (a change of role counts from the next request on). */
export async function roleOf(persistence: Persistence, userId: number): Promise<Role | undefined> {
  const row = await reader(persistence)
    .selectFrom('steadfast_users')
    .select('role')
    .where('id', '=', userId)
    .executeTakeFirst();
  return row?.role;
}

export async function permissionsOf(persistence: Persistence, userId: number): Promise<Permissions> {
  const role = await roleOf(persistence, userId);
  return role ? PERMISSIONS[role] : NONE;
}

/**
 * Asks the rule about a write before a form is even checked, so that a refused user meets the
 * refusal (403, logged like any) rather than a form they could never save. The save asks again.
 */
export function askBeforeWriting(
  persistence: Persistence,
  request: Pick<AuthorizeRequest, 'action' | 'model' | 'objectId' | 'record'>,
): Promise<void> {
  return persistence.authorizer.require({
    ...request,
    actor: persistence.context.actor(),
    values: undefined,
  });
}

/**
 * The demo's `authorize` hook. Actors that are not users are the server's own work: `seed`,
 * `user:create`, and `system` (what no user started; the demo's pages let nobody write without
 * signing in, so a request of nobody never gets this far).
 */
export async function authorizeByRole(
  persistence: Persistence,
  request: AuthorizeRequest,
): Promise<AuthorizeDecision> {
  const { actor, action, model, objectId } = request;
  if (!USER_ACTOR.test(actor.actor)) return true;
  if (action === 'read-log' || action === 'sync') return true;
  const userId = Number(actor.actor);
  const ownPreference = model === 'Setting' && objectId?.startsWith(`user.${userId}.`) === true;
  if (ownPreference && (action === 'create' || action === 'update')) return true;
  const role = await roleOf(persistence, userId);
  if (!role) return { refuse: REFUSALS.gone };
  const can = PERMISSIONS[role];
  if (action === 'revert') return can.revert || { refuse: REFUSALS.revert };
  if (model === 'Product') return can.editProducts || { refuse: REFUSALS.products };
  if (model === 'Setting') return can.companySettings || { refuse: REFUSALS.companySettings };
  return can.users || { refuse: `Only an administrator can change ${model ?? 'these'} records.` };
}
