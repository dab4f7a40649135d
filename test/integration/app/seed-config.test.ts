import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createAppPersistence } from '../../../examples/business-app/src/app-database.js';
import { ConfigError, parseConfig } from '../../../examples/business-app/src/config.js';
import type { AppDatabase } from '../../../examples/business-app/src/schema.js';
import { seedDatabase } from '../../../examples/business-app/src/seed.js';
import { createTestDatabase, describeEachDatabase } from '../../support/databases.js';

describeEachDatabase('business app: seed', (current) => {
  it('creates a user of each role, 36 products and default settings, logged as seed, once', async () => {
    const persistence = createAppPersistence({ db: current().opened.db });
    const report = await seedDatabase(persistence, { demoData: true });
    expect(report).toEqual({
      settingsCreated: 3,
      usersCreated: ['demo', 'editor', 'viewer'],
      productsCreated: 36,
    });
    const { entries } = await persistence.activityLog.query({ actor: 'seed', limit: 200 });
    expect(entries).toHaveLength(3 + 3 + 36);
    const users = entries.filter((entry) => entry.model === 'User');
    for (const user of users) expect(user.changes.password_hash).toEqual(['[changed]', '[changed]']);
    // Each user's role is in its logged creation.
    expect(Object.fromEntries(users.map((user) => [user.snapshot.username, user.changes.role]))).toEqual({
      demo: [null, 'admin'],
      editor: [null, 'editor'],
      viewer: [null, 'viewer'],
    });
    const rows = await (current().opened.db as Kysely<AppDatabase>)
      .selectFrom('steadfast_users')
      .select(['username', 'role'])
      .execute();
    expect(Object.fromEntries(rows.map((row) => [row.username, row.role]))).toEqual({
      demo: 'admin',
      editor: 'editor',
      viewer: 'viewer',
    });

    const again = await seedDatabase(persistence, { demoData: true });
    expect(again).toEqual({ settingsCreated: 0, usersCreated: [], productsCreated: 0 });
  });

  it('never creates the demo user or demo products without demoData (production)', async () => {
    const database = await createTestDatabase(current().engine);
    try {
      const persistence = createAppPersistence({ db: database.opened.db });
      const report = await seedDatabase(persistence, { demoData: false });
      expect(report).toEqual({ settingsCreated: 3, usersCreated: [], productsCreated: 0 });
      const users = await database.opened.db.selectFrom('steadfast_users').selectAll().execute();
      expect(users).toEqual([]);
    } finally {
      await database.drop();
    }
  });
});

describe('business app: configuration', () => {
  it('defaults to port 3000 and ./data/app.db in development', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      port: 3000,
      databaseUrl: 'sqlite:./data/app.db',
      environment: 'development',
      production: false,
      sessionSecret: undefined,
    });
  });

  it('requires SESSION_SECRET in production', () => {
    expect(() => parseConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => parseConfig({ NODE_ENV: 'production' })).toThrow(/SESSION_SECRET is required/);
    const secret = 'x'.repeat(40);
    expect(parseConfig({ NODE_ENV: 'production', SESSION_SECRET: secret }).sessionSecret).toBe(secret);
  });

  it('names the variable that is wrong', () => {
    expect(() => parseConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => parseConfig({ SESSION_SECRET: 'short' })).toThrow(
      /SESSION_SECRET: must be at least 32 characters/,
    );
    expect(() => parseConfig({ NODE_ENV: 'staging' })).toThrow(/NODE_ENV/);
  });

  it('reads the rate limits, with defaults, refusing anything but a positive whole number', () => {
    expect(parseConfig({}).rateLimits).toEqual({
      syncPerMinute: 300,
      loginPerMinute: 10,
      changesPerMinute: 1200,
      syncBytesPerMinute: 8 * 1024 * 1024,
    });
    expect(
      parseConfig({ SYNC_RATE_LIMIT_PER_MINUTE: '1200', LOGIN_RATE_LIMIT_PER_MINUTE: '5' }).rateLimits,
    ).toMatchObject({ syncPerMinute: 1200, loginPerMinute: 5 });
    expect(() => parseConfig({ SYNC_RATE_LIMIT_PER_MINUTE: '0' })).toThrow(/SYNC_RATE_LIMIT_PER_MINUTE/);
    expect(() => parseConfig({ LOGIN_RATE_LIMIT_PER_MINUTE: 'lots' })).toThrow(/LOGIN_RATE_LIMIT_PER_MINUTE/);
    expect(() => parseConfig({ LOGIN_RATE_LIMIT_PER_MINUTE: '2.5' })).toThrow(/LOGIN_RATE_LIMIT_PER_MINUTE/);
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({
      port: 3000,
      databaseUrl: 'sqlite:./data/app.db',
    });
  });
});
