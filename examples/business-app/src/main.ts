/**
 * `npm start`: the business app. Reads the environment (the only module that does), opens and
 * migrates the database, seeds it on first start, listens, and shuts down gracefully on
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, then close the database.
 */
import { resolve } from 'node:path';
import { createAppPersistence, openAppDatabase } from './app-database.js';
import { buildApp } from './build-app.js';
import { parseConfig } from './config.js';
import { DEMO_USERS, seedDatabase } from './seed.js';
import { loadOrCreateSessionSecret } from './session-secret.js';

const SESSION_SECRET_FILE = resolve('data', 'session-secret');
const REPEATED_SIGNAL_GRACE_MS = 2000;

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const sessionSecret = config.sessionSecret ?? loadOrCreateSessionSecret(SESSION_SECRET_FILE);
  const database = await openAppDatabase(config.databaseUrl);

  const seedReport = await seedDatabase(createAppPersistence({ db: database.db }), {
    demoData: !config.production,
  });

  const { app } = await buildApp({
    database,
    sessionSecret,
    production: config.production,
    secureCookies: config.production ? true : 'auto',
    showDemoLogin: !config.production,
    rateLimits: config.rateLimits,
    trustProxy: config.trustProxy,
    metricsToken: config.metricsToken,
    logger: { level: 'info' },
  });
  if (seedReport.productsCreated > 0 || seedReport.usersCreated.length > 0) {
    const users = DEMO_USERS.filter((user) => seedReport.usersCreated.includes(user.username)).map(
      (user) => `"${user.username}" (password "${user.password}", ${user.role})`,
    );
    app.log.info(
      `seeded ${seedReport.productsCreated} products${users.length > 0 ? `, users ${users.join(', ')}` : ''}`,
    );
  }

  let closingSince: number | undefined;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closingSince !== undefined) {
      // A terminal signals the whole process group and tsx relays the same signal again: a repeat
      // within moments is that echo. Only a deliberate second signal skips the wait.
      if (Date.now() - closingSince < REPEATED_SIGNAL_GRACE_MS) return;
      app.log.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    closingSince = Date.now();
    app.log.info(`${signal}: finishing in-flight requests, then closing the database`);
    try {
      await app.close();
      await database.close();
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));

  await app.listen({ port: config.port, host: config.host });
  app.log.info(`Steadfast is serving ${database.displayUrl} on http://localhost:${config.port}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
