/**
 * `npm run activity:verify`: walks every record's hash chain in the ActivityLog and names the
 * first entry that was altered or removed. Exit 0 when intact, 1 when not.
 */
import { createPersistence, verifyActivityLog } from '../persistence/index.js';
import { openCliDatabase } from './cli-database.js';

const database = await openCliDatabase();
try {
  const { registry } = createPersistence({ db: database.db });
  const report = await verifyActivityLog(database.db, registry);
  if (report.ok) {
    console.log(`ok: ${report.entriesChecked} entries in ${report.chainsChecked} chains verified`);
  } else {
    console.log(`FAILED: ${report.problems.length} problem(s) in ${report.entriesChecked} entries`);
    for (const problem of report.problems) {
      console.log(`- ${problem.model} ${problem.objectId}: ${problem.reason}`);
    }
    process.exitCode = 1;
  }
} finally {
  await database.close();
}
