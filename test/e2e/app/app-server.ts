/**
 * The business app, seeded, listening on a free loopback port over its own SQLite database, for
 * Chromium to drive. A second user (`olga`) exists for the two-user scenarios.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { buildApp } from '../../../examples/business-app/src/build-app.js';
import { seedDatabase } from '../../../examples/business-app/src/seed.js';
import { createAppUser } from '../../../examples/business-app/src/users.js';
import type { Persistence } from '../../../packages/steadfast/src/persistence/index.js';
import { createTestDatabase, type EngineName, type TestDatabase } from '../../support/databases.js';

export const OTHER_USER = {
  username: 'olga',
  displayName: 'Olga Ops',
  password: 'olga-password',
  role: 'editor',
} as const;

export interface RunningApp {
  readonly app: FastifyInstance;
  readonly persistence: Persistence;
  readonly database: TestDatabase;
  readonly baseUrl: string;
  stop(): Promise<void>;
}

export async function startApp(
  engine: EngineName = 'sqlite',
  options: { seed?: boolean } = {},
): Promise<RunningApp> {
  const database = await createTestDatabase(engine);
  const { app, persistence } = await buildApp({
    database: database.opened,
    sessionSecret: 'e2e-session-secret-long-enough-for-the-plugin',
    showDemoLogin: true,
  });
  if (options.seed ?? true) {
    await seedDatabase(persistence, { demoData: true });
    await persistence.runAs('seed', () => createAppUser(persistence, OTHER_USER));
  }
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    persistence,
    database,
    baseUrl: address,
    async stop() {
      await app.close();
      await database.drop();
    },
  };
}

export async function signIn(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${baseUrl}/products`);
}

const SCREENSHOT_DIRECTORY = join('test-results', 'screenshots');
export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

/** The page at desktop and at phone width, under test-results/screenshots/ (ignored by git). */
export async function screenshotBothWidths(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIRECTORY, { recursive: true });
  const original = page.viewportSize();
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SCREENSHOT_DIRECTORY, `${name}-${label}.png`), fullPage: true });
  }
  if (original) await page.setViewportSize(original);
}

/** Keys this browser holds drafts under for one user's form (see src/client/local-store.ts). */
export function draftFieldKeys(page: Page, userId: number, formKey: string): Promise<string[]> {
  return page.evaluate(
    ({ prefix }) => Object.keys(window.localStorage).filter((key) => key.startsWith(prefix)),
    { prefix: `steadfast:v1:${userId}:f:${formKey}\u001f` },
  );
}
