import type { OpenedDatabase } from '../../../../packages/steadfast/src/db/index.js';
import type { Persistence } from '../../../../packages/steadfast/src/persistence/index.js';

/** What every page group is built from; passed in, so tests give their own database. */
export interface RouteDependencies {
  readonly database: OpenedDatabase;
  readonly persistence: Persistence;
  /** Development only: the login page names the demo account. */
  readonly showDemoLogin: boolean;
}
