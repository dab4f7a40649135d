/**
 * The crash test: sync clients load a real app process, which is killed with SIGKILL at random
 * moments and restarted; after each restart the database must be consistent (see consistency.ts)
 * and hold every acknowledged change exactly once. Used by `npm run test:crash` (many kills) and
 * test/crash/crash.test.ts (a few, inside `npm test`).
 */

import { createAppPersistence } from '../../examples/business-app/src/app-database.js';
import { createUser } from '../../packages/steadfast/src/http/index.js';
import { createTestDatabase, type EngineName } from '../support/databases.js';
import { LOAD_TEST_ENV, ServerProcess, sleep, WebClient } from '../support/server-process.js';
import { checkConsistency } from './consistency.js';
import { LoadDriver, SyncClient, type SyncClientStats } from './sync-load.js';

export interface CrashRunOptions {
  readonly engine: EngineName;
  readonly kills: number;
  /** Clients per user; users are fixed at three. */
  readonly clientsPerUser?: number;
  /** Each kill lands at a random moment within this window of load (ms). */
  readonly loadWindowMs?: readonly [number, number];
  readonly log?: (line: string) => void;
}

export interface CrashRunReport {
  readonly engine: EngineName;
  readonly kills: number;
  readonly clients: number;
  readonly acknowledgedMutations: number;
  readonly appliedMutations: number;
  readonly duplicatesAnswered: number;
  readonly logEntries: number;
  readonly recordsChecked: number;
  readonly draftsChecked: number;
  readonly traffic: SyncClientStats;
  /** Problems found after each restart (empty when every check passed). */
  readonly problems: readonly string[];
}

const PASSWORD = 'crash-test-password';

export async function runCrashTest(options: CrashRunOptions): Promise<CrashRunReport> {
  const log = options.log ?? (() => {});
  const [minLoad, maxLoad] = options.loadWindowMs ?? [300, 2500];
  const database = await createTestDatabase(options.engine);
  const persistence = createAppPersistence({ db: database.opened.db });
  const users = [];
  for (const name of ['ann', 'ben', 'cat']) {
    users.push(await createUser(persistence, { username: name, displayName: name, password: PASSWORD }));
  }
  const server = await ServerProcess.start({ databaseUrl: database.url, env: LOAD_TEST_ENV });
  const clients: SyncClient[] = [];
  for (const user of users) {
    for (let i = 0; i < (options.clientsPerUser ?? 2); i += 1) {
      const index = clients.length;
      // Each client its own source address, as separate machines would be.
      const web = new WebClient(server.baseUrl, { localAddress: `127.0.0.${20 + index}` });
      const client = new SyncClient(web, user.id, { username: user.username, password: PASSWORD }, index);
      // Besides the answers the kills cut off, drop a few on purpose: the retry must be answered
      // `duplicate`, never applied again.
      client.loseAnswerRate = 0.1;
      clients.push(client);
    }
  }
  const driver = new LoadDriver(clients);
  const problems: string[] = [];
  let last: Awaited<ReturnType<typeof checkConsistency>> | undefined;
  try {
    for (const client of clients) await client.signIn();
    driver.start();
    for (let kill = 1; kill <= options.kills; kill += 1) {
      await sleep(minLoad + Math.random() * (maxLoad - minLoad));
      await server.kill();
      // Clients keep retrying against the dead server for a moment, as browsers would.
      await sleep(Math.random() * 100);
      await driver.pause();
      await server.start();
      last = await checkConsistency(database.opened.db, options.engine, clients);
      const totals = driver.totals();
      log(
        `[${options.engine}] kill ${kill}/${options.kills}: acknowledged ${last.acknowledgedMutations}, ` +
          `applied ${last.appliedMutations}, requests ${totals.requests} (${totals.networkErrors} failed on the wire), ` +
          `log ${last.logEntries} entries, ${last.problems.length === 0 ? 'consistent' : `${last.problems.length} PROBLEMS`}`,
      );
      for (const problem of last.problems) problems.push(`after kill ${kill}: ${problem}`);
      driver.resume();
    }
    // Finally deliver everything still queued and check once more: nothing typed is lost.
    await driver.stop();
    await driver.drain();
    last = await checkConsistency(database.opened.db, options.engine, clients);
    for (const problem of last.problems) problems.push(`after the final drain: ${problem}`);
    const traffic = driver.totals();
    return {
      engine: options.engine,
      kills: options.kills,
      clients: clients.length,
      acknowledgedMutations: last.acknowledgedMutations,
      appliedMutations: last.appliedMutations,
      duplicatesAnswered: traffic.duplicates,
      logEntries: last.logEntries,
      recordsChecked: last.recordsChecked,
      draftsChecked: last.draftsChecked,
      traffic,
      problems,
    };
  } finally {
    await driver.stop();
    await server.kill();
    await database.drop();
  }
}
