/**
 * `npm run bench`: runs every `bench/*.bench.ts` in its own process, one after another (they
 * measure the machine, so they must not overlap), then prints each benchmark's JSON line last.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((name) => f.includes(name)))
  .sort();

const lines: string[] = [];
let failed = false;
for (const file of files) {
  process.stderr.write(`== ${file}\n`);
  const output = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(benchDir, file)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on('close', (code) => {
      if (code !== 0) {
        failed = true;
        process.stderr.write(`!! ${file} exited with ${code}\n`);
      }
      resolve(out);
    });
  });
  for (const line of output.split('\n')) {
    if (line.startsWith('{"bench":')) lines.push(line);
  }
}
for (const line of lines) process.stdout.write(`${line}\n`);
if (failed) process.exitCode = 1;
