/**
 * The demo's production start (`npm run start:production`: `NODE_ENV=production node dist/main.js`)
 * runs the compiled JavaScript, and `steadfast/*` from the library's compiled `dist/`: a resolve
 * hook refuses to load tsx or any TypeScript file, so the start fails if anything still needs them.
 * `npm test` builds both first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const APP_DIR = resolve('examples/business-app');
const directory = mkdtempSync(join(tmpdir(), 'steadfast-production-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A loader hook that refuses tsx and .ts files, and records every steadfast module loaded. */
function writeRefusingHook(): string {
  const hooks = join(directory, 'refuse-typescript-hooks.mjs');
  writeFileSync(
    hooks,
    `export async function resolve(specifier, context, next) {
  if (/(^|\\/)tsx(\\/|$)/.test(specifier)) throw new Error('production start loaded tsx: ' + specifier);
  const resolved = await next(specifier, context);
  if (/\\.(c|m)?tsx?$/.test(new URL(resolved.url).pathname)) throw new Error('production start loaded TypeScript: ' + resolved.url);
  if (resolved.url.includes('/packages/steadfast/')) process.stderr.write('steadfast module: ' + resolved.url + '\\n');
  return resolved;
}
`,
  );
  const register = join(directory, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  return register;
}

it('serves the demo from compiled JavaScript, loading neither tsx nor any TypeScript', async () => {
  expect(existsSync(join(APP_DIR, 'dist', 'main.js')), 'run `npm run build` first').toBe(true);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', writeRefusingHook(), join(APP_DIR, 'dist', 'main.js')],
    {
      cwd: directory,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: `sqlite:${join(directory, 'app.db')}`,
        SESSION_SECRET: 'a production secret that is long enough 0123',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    const deadline = Date.now() + 45_000;
    let baseUrl: string | undefined;
    while (!baseUrl) {
      baseUrl = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (child.exitCode !== null) throw new Error(`the production start exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the production start did not listen:\n${output}`);
      await new Promise((wait) => setTimeout(wait, 100));
    }
    const login = await fetch(`${baseUrl}/login`);
    expect(login.status).toBe(200);
    // Production: no demo account is offered.
    expect(await login.text()).not.toContain('Demo account');
    const script = await fetch(`${baseUrl}/assets/auto-save-service.js`);
    expect(script.status).toBe(200);
    const loaded = [...output.matchAll(/steadfast module: (\S+)/g)].map((match) => match[1] ?? '');
    expect(loaded.length).toBeGreaterThan(0);
    expect(loaded.every((url) => url.includes('/packages/steadfast/dist/'))).toBe(true);
  } finally {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
}, 90_000);
