import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../../examples/business-app/src/build-app.js';
import { createTestDatabase, describeEachDatabase, type TestDatabase } from '../../support/databases.js';
import { TEST_SESSION_SECRET, useSeededApp } from './app-fixture.js';
import { PageClient } from './page-client.js';

const componentState = (html: string, id: string) =>
  new RegExp(`data-component="${id}" data-state="(\\w+)"`).exec(html)?.[1];

describeEachDatabase('business app: /status', (current) => {
  const fixture = useSeededApp(current);

  it('checks every component live and reports each active', async () => {
    const client = new PageClient(fixture().app);
    await client.signIn('demo', 'demo');
    const response = await client.get('/status');
    expect(response.statusCode).toBe(200);
    for (const id of ['database', 'migrations', 'persistence', 'change-tracking', 'sync-endpoint']) {
      expect(componentState(response.body, id), id).toBe('active');
    }
    expect(response.body).toContain('All components are active.');
    // The browser service fills this element itself; the server only gives it a place.
    expect(response.body).toContain('id="browser-service-state" data-autosave-status');
  });

  it('reports change tracking down when the newest log entry no longer matches its hash', async () => {
    const { db } = current().opened;
    const newest = await db
      .selectFrom('steadfast_activity_log')
      .select(['id', 'actor'])
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    await db
      .updateTable('steadfast_activity_log')
      .set({ actor: 'mallory' })
      .where('id', '=', newest.id)
      .execute();
    try {
      const response = await fixture().app.inject({ method: 'GET', url: '/status' });
      expect(response.statusCode).toBe(503);
      expect(componentState(response.body, 'change-tracking')).toBe('down');
      expect(componentState(response.body, 'database')).toBe('active');
    } finally {
      await db
        .updateTable('steadfast_activity_log')
        .set({ actor: newest.actor })
        .where('id', '=', newest.id)
        .execute();
    }
  });
});

describeEachDatabase('business app: /status with the database down', (current) => {
  let database: (TestDatabase & { drop(): Promise<void> }) | undefined;
  let app: Awaited<ReturnType<typeof buildApp>>['app'] | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(current().engine);
    ({ app } = await buildApp({ database: database.opened, sessionSecret: TEST_SESSION_SECRET }));
    // The database goes away under a running app.
    await database.opened.close();
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('still renders, with 503 and the database, migrations and persistence manager down', async () => {
    if (!app) throw new Error('app not built');
    const response = await app.inject({ method: 'GET', url: '/status', headers: { accept: 'text/html' } });
    expect(response.statusCode).toBe(503);
    expect(componentState(response.body, 'database')).toBe('down');
    expect(componentState(response.body, 'migrations')).toBe('down');
    expect(componentState(response.body, 'persistence')).toBe('down');
    expect(response.body).toContain('Some components are down.');
  });
});
