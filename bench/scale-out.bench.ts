/**
 * scale_out: applied sync changes per second with one app process and with two processes on one
 * PostgreSQL database, the same 16 sync clients (browser-like: own clientId, consecutive ids,
 * retry until acknowledged) spread over the processes. Each configuration runs `SCALE_SECONDS`
 * (default 15) after a short warm-up; every change is then checked applied exactly once.
 *
 * On this 2-core machine the clients, both processes and PostgreSQL share the same cores, so the
 * ratio shows the cost of coordination more than the gain of a second machine.
 */

import { createAppPersistence } from '../examples/business-app/src/app-database.js';
import { createUser } from '../packages/steadfast/src/http/index.js';
import { checkConsistency } from '../test/crash/consistency.js';
import { LoadDriver, SyncClient } from '../test/crash/sync-load.js';
import { isPostgresAvailable } from '../test/support/databases.js';
import { LOAD_TEST_ENV, ServerProcess, sleep, WebClient } from '../test/support/server-process.js';
import { createTestDatabase, printResult, round } from './support.js';

const SECONDS = Number(process.env.SCALE_SECONDS ?? 15);
const CLIENTS = 16;
const PASSWORD = 'scale-out-bench-password';

async function measure(processes: number): Promise<{ perSecond: number; problems: number; applied: number }> {
  const database = await createTestDatabase('postgres');
  const servers: ServerProcess[] = [];
  try {
    const persistence = createAppPersistence({ db: database.opened.db });
    const users = [];
    for (let i = 0; i < 8; i += 1) {
      users.push(
        await createUser(persistence, {
          username: `bench${i}`,
          displayName: `Bench ${i}`,
          password: PASSWORD,
        }),
      );
    }
    for (let p = 0; p < processes; p += 1)
      servers.push(await ServerProcess.start({ databaseUrl: database.url, env: LOAD_TEST_ENV }));
    const clients: SyncClient[] = [];
    for (let i = 0; i < CLIENTS; i += 1) {
      const user = users[i % users.length] as { id: number; username: string };
      const web = new WebClient((servers[0] as ServerProcess).baseUrl, {
        localAddress: `127.0.0.${150 + Math.floor(i / 8)}`,
      });
      clients.push(
        new SyncClient(
          web,
          user.id,
          { username: user.username, password: PASSWORD },
          i,
          (n) => (servers[(i + n) % servers.length] as ServerProcess).baseUrl,
        ),
      );
    }
    for (const client of clients) await client.signIn();
    const driver = new LoadDriver(clients, { stepDelayMs: 0 });
    driver.start();
    await sleep(3000);
    const before = clients.reduce((sum, c) => sum + c.acknowledged, 0);
    const started = Date.now();
    await sleep(SECONDS * 1000);
    const after = clients.reduce((sum, c) => sum + c.acknowledged, 0);
    const elapsed = (Date.now() - started) / 1000;
    await driver.stop();
    await driver.drain();
    const report = await checkConsistency(database.opened.db, 'postgres', clients);
    for (const problem of report.problems.slice(0, 10)) process.stderr.write(`!! ${problem}\n`);
    return {
      perSecond: (after - before) / elapsed,
      problems: report.problems.length,
      applied: report.appliedMutations,
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await database.drop();
  }
}

if (!(await isPostgresAvailable())) {
  process.stderr.write('scale_out needs PostgreSQL\n');
  process.exit(1);
}
process.stderr.write(`scale_out: one process, ${SECONDS} s\n`);
const one = await measure(1);
process.stderr.write(`scale_out: two processes, ${SECONDS} s\n`);
const two = await measure(2);
printResult({
  bench: 'scale_out',
  engine: 'postgres',
  clients: CLIENTS,
  seconds: SECONDS,
  applied_per_s_one_process: round(one.perSecond, 1),
  applied_per_s_two_processes: round(two.perSecond, 1),
  ratio: round(two.perSecond / one.perSecond, 2),
  applied_exactly_once: one.problems === 0 && two.problems === 0,
  cores: (await import('node:os')).availableParallelism(),
});
if (one.problems + two.problems > 0) process.exitCode = 1;
