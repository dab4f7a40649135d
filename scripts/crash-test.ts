/**
 * `npm run test:crash`: the full crash test. SIGKILLs a loaded app process at random moments and
 * restarts it, 20 times on SQLite and 10 on PostgreSQL (override: `-- --sqlite 5 --postgres 2`),
 * checking after every restart that each acknowledged change is present exactly once and that
 * records, drafts and the ActivityLog agree. Prints the counts; exits 1 on any problem.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { runCrashTest } from '../test/crash/crash-run.js';
import { isPostgresAvailable } from '../test/support/databases.js';

const USAGE = 'usage: npm run test:crash -- [--sqlite <kills>] [--postgres <kills>]';
function usageError(message: string): never {
  console.error(message);
  process.exit(2);
}
let values: Record<string, unknown> = {};
try {
  values = parseArgs({
    options: { sqlite: { type: 'string', default: '20' }, postgres: { type: 'string', default: '10' } },
    strict: true,
  }).values;
} catch (error) {
  usageError(`${USAGE}  (${error instanceof Error ? error.message : String(error)})`);
}
const kills = z.coerce.number().int().min(0).max(1000);
const counts = z.object({ sqlite: kills, postgres: kills }).safeParse(values);
if (!counts.success)
  usageError(`${USAGE}  (--${counts.error.issues[0]?.path.join('.')}: a whole number of kills)`);
const plan = [
  { engine: 'sqlite' as const, kills: counts.data.sqlite },
  { engine: 'postgres' as const, kills: counts.data.postgres },
];

let failed = false;
for (const { engine, kills } of plan) {
  if (kills <= 0) continue;
  if (engine === 'postgres' && !(await isPostgresAvailable())) {
    console.log('postgres: SKIPPED, PostgreSQL is unreachable');
    failed = true;
    continue;
  }
  const report = await runCrashTest({ engine, kills, log: (line) => console.log(line) });
  const { traffic } = report;
  console.log(
    `${engine}: ${report.kills} SIGKILLs, ${report.clients} clients, ${traffic.requests} sync requests ` +
      `(${traffic.ok} answered 200, ${traffic.networkErrors} failed on the wire, other answers ${JSON.stringify(traffic.statuses)}), ` +
      `${report.acknowledgedMutations} changes acknowledged, ${report.appliedMutations} applied exactly once, ` +
      `${report.duplicatesAnswered} retried changes answered as duplicates (${traffic.answersLost} answers dropped on purpose), ${report.logEntries} log entries verified, ` +
      `${report.recordsChecked} records and ${report.draftsChecked} drafts equal to their last log snapshot, ` +
      `${traffic.signIns} sign-ins`,
  );
  if (report.problems.length > 0) {
    failed = true;
    console.log(`${engine}: ${report.problems.length} PROBLEMS`);
    for (const problem of report.problems.slice(0, 30)) console.log(`  - ${problem}`);
  } else {
    console.log(`${engine}: OK`);
  }
}
process.exitCode = failed ? 1 : 0;
