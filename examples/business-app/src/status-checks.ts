/**
 * The System Status list, each component checked live on every view of /status: nothing here is
 * cached, so a database that went away a second ago shows as down now.
 */

import { sql } from 'kysely';
import {
  hashEntry,
  type OpenedDatabase,
  type Persistence,
  pendingMigrations,
  pingDatabase,
} from 'steadfast/persistence';
import { DRAFTS_PATH } from 'steadfast/protocol';
import { reader } from './database-reader.js';
import { pendingAppMigrations } from './migrations.js';

export type ComponentState = 'active' | 'down';

export interface ComponentStatus {
  readonly id: string;
  readonly name: string;
  readonly state: ComponentState;
  /** What was checked and what it found, in words an operator can act on. */
  readonly detail: string;
  readonly elapsedMs: number;
}

/** What an anonymous visitor sees: up or down per component, no counters, ids or timings. */
export interface PublicComponentStatus {
  readonly id: string;
  readonly name: string;
  readonly state: ComponentState;
}

export function publicStatus(component: ComponentStatus): PublicComponentStatus {
  return { id: component.id, name: component.name, state: component.state };
}

/** Newest entries up to this size are re-hashed; a larger one is checked by its chain link instead. */
const HASH_CHECK_MAX_BYTES = 64 * 1024;

export interface StatusCheckDependencies {
  readonly database: OpenedDatabase;
  readonly persistence: Persistence;
  /** Asks the app itself for a route, without a network hop (Fastify's inject). */
  readonly probe: (url: string) => Promise<{ statusCode: number }>;
  /** How long one check may take before it counts as down. */
  readonly timeoutMs?: number;
}

class CheckTimeoutError extends Error {
  override readonly name = 'CheckTimeoutError';
}

async function runCheck(
  id: string,
  name: string,
  timeoutMs: number,
  check: () => Promise<string>,
): Promise<ComponentStatus> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    // A pool waiting for a dead server can hang for its whole connect timeout; the page must not.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CheckTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const detail = await Promise.race([check(), timeout]);
    return { id, name, state: 'active', detail, elapsedMs: Math.round(performance.now() - started) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { id, name, state: 'down', detail: message, elapsedMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkSystemStatus(dependencies: StatusCheckDependencies): Promise<ComponentStatus[]> {
  const { database, persistence, probe } = dependencies;
  const timeoutMs = dependencies.timeoutMs ?? 3000;
  // One after another: on SQLite the checks share one connection anyway, and each reports its
  // own time.
  const results: ComponentStatus[] = [];
  results.push(
    await runCheck('database', 'Database', timeoutMs, async () => {
      await pingDatabase(database.db);
      return `${database.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'} answered a query`;
    }),
  );
  results.push(
    await runCheck('migrations', 'Migrations', timeoutMs, async () => {
      // Steadfast's (its log, drafts and sessions) and the demo's own (products, settings).
      const pending = [
        ...(await pendingMigrations(database.db, { sessions: true })),
        ...(await pendingAppMigrations(database.db)),
      ];
      if (pending.length > 0) throw new Error(`${pending.length} pending: ${pending.join(', ')}`);
      return 'schema is at the newest migration';
    }),
  );
  results.push(
    await runCheck('persistence', 'Persistence manager', timeoutMs, async () => {
      const { entries } = await persistence.activityLog.query({ limit: 1 });
      persistence.registry.get('Product');
      return entries.length > 0 ? 'read the newest log entry back' : 'answered (the log is empty)';
    }),
  );
  results.push(
    await runCheck('change-tracking', 'Change tracking', timeoutMs, async () => {
      // The newest entry's size first, without reading it: the check must cost the same whatever
      // that entry holds (a megabyte draft made it a hundred times slower).
      const newest = await reader(persistence)
        .selectFrom('steadfast_activity_log')
        .select([
          'id',
          'model',
          'object_id',
          'prev_hash',
          sql<number | string>`octet_length(changes) + octet_length(snapshot)`.as('bytes'),
        ])
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!newest) return 'no changes recorded yet';
      if (Number(newest.bytes) <= HASH_CHECK_MAX_BYTES) {
        const entry = await reader(persistence)
          .selectFrom('steadfast_activity_log')
          .selectAll()
          .where('id', '=', newest.id)
          .executeTakeFirstOrThrow();
        // Recomputing the newest entry's hash proves the tracker writes whole, chained entries.
        if (hashEntry(entry) !== entry.hash) throw new Error(`log entry ${entry.id} does not match its hash`);
        return `newest entry #${entry.id} verifies against its hash`;
      }
      if (newest.prev_hash === null) return `newest entry #${newest.id} starts its record's chain`;
      const previous = await reader(persistence)
        .selectFrom('steadfast_activity_log')
        .select('id')
        .where('model', '=', newest.model)
        .where('object_id', '=', newest.object_id)
        .where('id', '<', newest.id)
        .where('hash', '=', newest.prev_hash)
        .limit(1)
        .executeTakeFirst();
      if (!previous) throw new Error(`log entry ${newest.id} does not follow its record's previous entry`);
      return `newest entry #${newest.id} follows its record's previous entry #${previous.id}`;
    }),
  );
  results.push(
    await runCheck('sync-endpoint', 'Sync endpoint', timeoutMs, async () => {
      // Without a session the drafts API must refuse with 401: the route is mounted and answering.
      const { statusCode } = await probe(DRAFTS_PATH);
      if (statusCode !== 401) throw new Error(`${DRAFTS_PATH} answered ${statusCode}, expected 401`);
      return `${DRAFTS_PATH} is mounted and answering`;
    }),
  );
  return results;
}
