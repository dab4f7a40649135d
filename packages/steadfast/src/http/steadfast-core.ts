/**
 * What both adapters stand on, built once per app from the parsed options: the metrics, the sync
 * service and its group committer, the activity service, the route table, the metrics listener,
 * and the one way to close it all (drain in-flight work, then stop the listener). The Fastify
 * plugin and the Express router create one each and add only their framework's glue.
 */
import type { GroupCommitter } from '../persistence/group-commit.js';
import { userModel } from '../persistence/user-model.js';
import { type ActivityService, createActivityService } from '../sync/activity-service.js';
import { createMetrics, type SteadfastMetrics } from '../sync/metrics.js';
import {
  type ClientLookup,
  createMeteredSyncService,
  recordForKeyOfModels,
  type SyncService,
  type SyncUnit,
} from '../sync/sync-service.js';
import { CsrfVerifier } from './csrf-verifier.js';
import { type MetricsListener, startMetricsListener } from './metrics-access.js';
import { createRouteTable, type Route } from './route-table.js';
import type { ResolvedSteadfastOptions } from './steadfast-options.js';

export interface SteadfastCore<Raw> {
  readonly options: ResolvedSteadfastOptions<Raw>;
  readonly metrics: SteadfastMetrics;
  readonly committer: GroupCommitter<SyncUnit>;
  readonly syncService: SyncService;
  readonly activity: ActivityService;
  /** Steadfast's routes as the options enable them: each adapter registers exactly these. */
  readonly routes: ReadonlyArray<Route<Raw>>;
  /** The listener of `metrics.listen`, started with the core; undefined without one. */
  readonly metricsListener: Promise<MetricsListener> | undefined;
  /**
   * Waits for sync requests in flight and saves made outside requests to commit, then closes the
   * metrics listener: what an adapter does on close, before the app closes its database.
   */
  close(): Promise<void>;
}

export interface CoreSettings {
  /** Reads a sync client's committed row without a query (the plugin's read-only SQLite connection). */
  readonly clientLookup?: ClientLookup;
}

export function createSteadfastCore<Raw>(
  options: ResolvedSteadfastOptions<Raw>,
  settings: CoreSettings = {},
): SteadfastCore<Raw> {
  const { persistence } = options;
  // Steadfast's own sessions sign in users of its User model (`createUser`).
  if (options.ownSessions && !persistence.registry.has(userModel.name))
    persistence.registry.register(userModel);
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics });
  const recordForKey = options.recordForKey ?? recordForKeyOfModels(persistence.registry);
  const { committer, syncService } = createMeteredSyncService({
    persistence,
    dialect: persistence.dialect,
    metrics,
    recordForKey: options.recordForKey,
    maxBatch: options.groupCommit.maxBatch,
    limits: options.limits,
    clientLookup: settings.clientLookup,
  });
  const activity = createActivityService(persistence, {
    visibility: options.activity,
    bounds: { entryBytes: options.limits.activityEntryBytes, pageBytes: options.limits.activityPageBytes },
  });
  const routes = createRouteTable<Raw>({
    options,
    persistence,
    syncService,
    activity,
    metrics,
    recordForKey,
    csrf: new CsrfVerifier(),
  });
  const metricsOptions = options.metrics || undefined;
  const metricsListener = metricsOptions?.listen
    ? startMetricsListener(metrics.registry, metricsOptions.listen, metricsOptions.token)
    : undefined;

  return {
    options,
    metrics,
    committer,
    syncService,
    activity,
    routes,
    metricsListener,
    async close() {
      await committer.idle();
      // Saves made outside a request's transaction (jobs, scripts sharing this app) commit first.
      await persistence.idle();
      // A listener that never started has nothing to close (its adapter reported why).
      await (await metricsListener?.catch(() => undefined))?.close();
    },
  };
}
