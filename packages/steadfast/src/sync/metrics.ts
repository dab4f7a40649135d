/**
 * Prometheus metrics of the HTTP layer, in a Registry of their own (never prom-client's global
 * one), so two apps in one process, as in tests, never share or double-register counters. Apps
 * add their own metrics to the same registry (`app.metrics.registry`).
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface SteadfastMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestDuration: Histogram<'method' | 'route'>;
  readonly syncChanges: Counter<'status'>;
  readonly rollbacks: Counter<'reason'>;
  readonly groupCommitSize: Histogram;
  readonly groupCommits: Counter<'outcome' | 'applied'>;
}

export interface MetricsOptions {
  /** Also collect Node's process metrics (heap, event-loop lag, …). Default true. */
  readonly defaultMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): SteadfastMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'steadfast_' });
  return {
    registry,
    requests: new Counter({
      name: 'steadfast_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'steadfast_http_request_duration_seconds',
      help: 'Time from request to response, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    syncChanges: new Counter({
      name: 'steadfast_sync_changes_total',
      help: 'Sync changes answered, by result: applied, duplicate or stale',
      labelNames: ['status'],
      registers: [registry],
    }),
    rollbacks: new Counter({
      name: 'steadfast_transaction_rollbacks_total',
      help: 'Request transactions rolled back, by reason: error status, thrown error, aborted, failed commit',
      labelNames: ['reason'],
      registers: [registry],
    }),
    groupCommitSize: new Histogram({
      name: 'steadfast_group_commit_size',
      help: 'Sync requests written by one group-commit transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    groupCommits: new Counter({
      name: 'steadfast_group_commits_total',
      help: 'Group-commit transactions, by outcome (committed or failed) and by how their requests were applied: lone, together (shared statements) or separately (a savepoint each, after shared statements failed)',
      labelNames: ['outcome', 'applied'],
      registers: [registry],
    }),
  };
}
