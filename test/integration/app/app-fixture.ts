/** The business app over a test database, seeded like a first development start. */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { type BuildAppOptions, buildApp } from '../../../examples/business-app/src/build-app.js';
import { seedDatabase } from '../../../examples/business-app/src/seed.js';
import { createAppUser } from '../../../examples/business-app/src/users.js';
import type { Persistence } from '../../../packages/steadfast/src/persistence/index.js';
import type { TestDatabase } from '../../support/databases.js';

export const TEST_SESSION_SECRET = 'test-session-secret-that-is-long-enough-000';

export interface AppFixture {
  readonly app: FastifyInstance;
  readonly persistence: Persistence;
  /**
   * A second user beside `demo` (both administrators), for two-user scenarios. The seed's `editor`
   * and `viewer` (passwords as their names) are there too.
   */
  readonly otherUser: { readonly id: number; readonly username: string; readonly password: string };
  readonly demoUserId: number;
}

/** `options`: any of buildApp's options beyond the database and secret (e.g. rate limits). */
export function useSeededApp(
  current: () => TestDatabase,
  options: Partial<Omit<BuildAppOptions, 'database' | 'sessionSecret'>> = {},
): () => AppFixture {
  let fixture: AppFixture | undefined;
  beforeAll(async () => {
    const { app, persistence } = await buildApp({
      database: current().opened,
      sessionSecret: TEST_SESSION_SECRET,
      showDemoLogin: true,
      ...options,
    });
    await seedDatabase(persistence, { demoData: true });
    const password = 'other-password';
    const other = await persistence.runAs('seed', () =>
      createAppUser(persistence, { username: 'olga', displayName: 'Olga <Ops>', password, role: 'admin' }),
    );
    const demo = await current()
      .opened.db.selectFrom('steadfast_users')
      .select('id')
      .where('username', '=', 'demo')
      .executeTakeFirstOrThrow();
    fixture = {
      app,
      persistence,
      otherUser: { id: other.id, username: other.username, password },
      demoUserId: Number(demo.id),
    };
  });
  afterAll(async () => {
    await fixture?.app.close();
  });
  return () => {
    if (!fixture) throw new Error('app fixture not ready');
    return fixture;
  };
}
