import type { OpenedDatabase, Persistence } from 'steadfast/persistence';

/** What every page group is built from; passed in, so tests give their own database. */
export interface RouteDependencies {
  readonly database: OpenedDatabase;
  readonly persistence: Persistence;
  /** Development only: the login page names the demo account. */
  readonly showDemoLogin: boolean;
}
