/**
 * Adoption: the library as a team installs it into an app it already has. `npm pack` of the
 * built library; two throwaway apps outside the repository install the tarball (their other
 * packages from the registry through npm's cache; better-sqlite3 linked from the repository's
 * build, so nothing is compiled again), run `npx steadfast migrate`, and in Chromium a user types
 * into a form, reloads and sees it restored, submits it through `autoSave`, and the activity API
 * names that change and its actor; `npx steadfast activity verify` then passes.
 *
 * - express-invoices: Express 5 on PostgreSQL, its own sign-in (a signed cookie) and its own
 *   `invoices` table, which had no version column until its own migration called addVersionColumn.
 *   Fastify is not installed there: the Express entry must not need it.
 * - fastify-notes: Fastify 5 on SQLite, its own sign-in and its own `notes` table.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LIBRARY_DIR, REPO_ROOT } from '../package/library-package.js';
import { launchBrowser, waitUntil } from '../support/browser.js';
import { ADMIN_PG_URL, isPostgresAvailable } from '../support/databases.js';

const run = promisify(execFile);
const APPS_DIR = path.join(REPO_ROOT, 'test', 'adoption', 'apps');
const rootPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};
/** The version the repository installed, so the throwaway apps use the same (and npm's cache has it). */
const installed = (name: string) => {
  const version = rootPackage.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not installed in the repository`);
  return `${name}@${version}`;
};

let workDir: string;
let tarball: string;
let browser: Browser;

beforeAll(async () => {
  assertBuilt();
  workDir = mkdtempSync(path.join(tmpdir(), 'steadfast-adoption-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', workDir], {
    cwd: LIBRARY_DIR,
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; size: number; entryCount: number }>;
  if (!packed) throw new Error('npm pack reported nothing');
  tarball = path.join(workDir, packed.filename);
  console.log(
    `adoption: ${packed.filename}, ${packed.entryCount} files, ${(packed.size / 1024).toFixed(1)} kB packed`,
  );
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Copies an app's files into the work folder and installs the tarball and its own dependencies. */
async function installApp(name: string, dependencies: readonly string[]): Promise<string> {
  const dir = path.join(workDir, name);
  cpSync(path.join(APPS_DIR, name), dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, private: true, type: 'module', dependencies: {} }, null, 2),
  );
  // --ignore-scripts: better-sqlite3 would compile for 80 s; the repository's build is linked below.
  await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball, ...dependencies],
    { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
  );
  return dir;
}

function linkFromRepository(dir: string, name: string): void {
  const target = path.join(dir, 'node_modules', name);
  rmSync(target, { recursive: true, force: true });
  symlinkSync(path.join(REPO_ROOT, 'node_modules', name), target, 'dir');
}

async function npx(dir: string, args: readonly string[]) {
  return run('npx', ['--no-install', ...args], { cwd: dir }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

async function startApp(
  dir: string,
  env: Record<string, string>,
): Promise<{ url: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['server.js'], {
    cwd: dir,
    env: { ...process.env, ...env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const port = await waitUntil(
    `${dir} to listen (output so far: ${output})`,
    () => {
      if (child.exitCode !== null) throw new Error(`${path.basename(dir)} exited: ${output}`);
      return /listening on (\d+)/.exec(output)?.[1];
    },
    30_000,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The app's files name only the package's entry points, never a path inside it. */
function expectNoDeepImports(dir: string): void {
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.js'))) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    expect(text, file).not.toMatch(/steadfast\/(dist|src)\b|node_modules\/steadfast/);
    for (const [, specifier] of text.matchAll(/from '(steadfast[^']*)'/g)) {
      expect(['steadfast/persistence', 'steadfast/express', 'steadfast/fastify']).toContain(specifier);
    }
  }
}

/** Signs in, types, reloads, sees the draft restored, submits; returns the activity API's answer. */
async function typeRestoreSubmit(options: {
  readonly url: string;
  readonly user: string;
  readonly formKey: string;
  readonly field: string;
  readonly typed: string;
}): Promise<{
  entries: Array<{ actor: string; action: string; model: string; changes: Record<string, unknown> }>;
}> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${options.url}/login?as=${options.user}`);
    await page.waitForFunction(() => 'autoSaveService' in window);
    const field = page.locator(`#${options.formKey} [name="${options.field}"]`);
    await field.fill(options.typed);
    // Saved on this device as typed, then on the server after the debounce.
    await page.waitForFunction(
      () => document.querySelector('[data-autosave-status]')?.getAttribute('data-autosave-state') === 'saved',
      undefined,
      { timeout: 15_000 },
    );
    await page.reload();
    await page.waitForFunction(() => 'autoSaveService' in window);
    await waitUntil('the draft to be restored', async () => (await field.inputValue()) === options.typed);
    await Promise.all([
      page.waitForURL(/saved=1/),
      page.locator(`#${options.formKey} button[type="submit"]`).click(),
    ]);
    expect(await field.inputValue()).toBe(options.typed);
    const answer = await page.evaluate(async () => (await fetch('/api/activity?limit=20')).json());
    return answer as Awaited<ReturnType<typeof typeRestoreSubmit>>;
  } finally {
    await context.close();
  }
}

describe('adoption: an Express 5 app on PostgreSQL with its own sign-in and invoices table', () => {
  const database = `steadfast_adopt_${process.pid}`;
  const databaseUrl = (() => {
    const url = new URL(ADMIN_PG_URL);
    url.pathname = `/${database}`;
    return url.toString();
  })();

  async function admin(query: string): Promise<void> {
    const client = new pg.Client({ connectionString: ADMIN_PG_URL });
    await client.connect();
    try {
      await client.query(query);
    } finally {
      await client.end();
    }
  }

  afterAll(async () => {
    if (await isPostgresAvailable()) await admin(`drop database if exists ${database} with (force)`);
  });

  it('migrates, restores a draft in Chromium, saves it with its actor, and verifies', async () => {
    if (!(await isPostgresAvailable())) return;
    await admin(`create database ${database}`);
    const dir = await installApp('express-invoices', [
      installed('express'),
      installed('pg'),
      installed('kysely'),
      installed('zod'),
    ]);
    expectNoDeepImports(dir);
    const installedPackages = readdirSync(path.join(dir, 'node_modules'));
    expect(installedPackages).not.toContain('fastify');

    const migrated = await npx(dir, ['steadfast', 'migrate', '--database-url', databaseUrl]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('0001_steadfast_core');
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
      );
      // Only Steadfast's own tables, all prefixed: nothing of the app's is touched.
      expect(rows.map((row) => row.table_name)).toEqual([
        'steadfast_activity_log',
        'steadfast_drafts',
        'steadfast_migration',
        'steadfast_migration_lock',
        'steadfast_sync_clients',
      ]);
    } finally {
      await client.end();
    }

    const app = await startApp(dir, { DATABASE_URL: databaseUrl });
    try {
      const { entries } = await typeRestoreSubmit({
        url: app.url,
        user: 'alice',
        formKey: 'invoice-1',
        field: 'customer',
        typed: 'Initech Ltd',
      });
      const update = entries.find((entry) => entry.model === 'Invoice' && entry.action === 'update');
      expect(update).toMatchObject({ actor: 'alice', changes: { customer: ['ACME', 'Initech Ltd'] } });
    } finally {
      await app.stop();
    }

    const verified = await npx(dir, [
      'steadfast',
      'activity',
      'verify',
      '--database-url',
      databaseUrl,
      '--config',
      './models.js',
    ]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^ok: \d+ entries in \d+ chains verified/);
  });
});

describe('adoption: a Fastify 5 app on SQLite with its own sign-in and notes table', () => {
  it('migrates, restores a draft in Chromium, saves it with its actor, and verifies', async () => {
    const dir = await installApp('fastify-notes', [
      installed('fastify'),
      installed('kysely'),
      installed('zod'),
      installed('better-sqlite3'),
    ]);
    linkFromRepository(dir, 'better-sqlite3');
    expectNoDeepImports(dir);
    const databaseUrl = `sqlite:${path.join(dir, 'data', 'notes.db')}`;

    const usage = await npx(dir, ['steadfast', 'migrate', '--databse-url', databaseUrl]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Unknown option '--databse-url'[\s\S]*usage: steadfast/);

    const migrated = await npx(dir, ['steadfast', 'migrate', '--database-url', databaseUrl]);
    expect(migrated.code, migrated.stderr).toBe(0);

    const app = await startApp(dir, { DATABASE_FILE: path.join(dir, 'data', 'notes.db') });
    try {
      const { entries } = await typeRestoreSubmit({
        url: app.url,
        user: 'bob',
        formKey: 'note-1',
        field: 'title',
        typed: 'Groceries for Sunday',
      });
      const update = entries.find((entry) => entry.model === 'Note' && entry.action === 'update');
      expect(update).toMatchObject({
        actor: 'bob',
        changes: { title: ['Groceries', 'Groceries for Sunday'] },
      });
    } finally {
      await app.stop();
    }

    const verified = await npx(dir, [
      'steadfast',
      'activity',
      'verify',
      '--database-url',
      databaseUrl,
      '--config',
      './models.js',
    ]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});
