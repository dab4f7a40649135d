/**
 * Every ```ts block of the root README.md compiles against the package as an app sees it:
 * `steadfast/*` resolved through node_modules/steadfast (the workspace link) and the package's
 * `exports` to the built declarations in packages/steadfast/dist (`npm test` builds first).
 *
 * Conventions for README authors:
 * - Each ```ts block is a module on its own (ES module, strict, Node 20 types and the DOM), so it
 *   imports what it uses, and may use top-level await.
 * - A block that uses something it does not make (the `persistence` an earlier block created, the
 *   signed-in user's id) declares it at its top: `declare const persistence: Persistence;`, with
 *   the type imported like any other (`import type { Persistence } from 'steadfast/persistence';`).
 * - `<!-- not-checked -->` on the line before the opening fence leaves a block out (a fragment
 *   that is not meant to compile on its own). ```js, ```sh and other blocks are never checked.
 *
 * The blocks are written to test-results/readme-examples/ as readme-line-<N>.ts (N: the README line
 * of the block's opening fence) beside a tsconfig.json; `npx tsc -p test-results/readme-examples`
 * reproduces a failure by hand.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, REPO_ROOT } from './library-package.js';

const NOT_CHECKED = '<!-- not-checked -->';

interface CodeBlock {
  /** README line (1-based) of the opening fence; the block's first code line is the next one. */
  readonly fenceLine: number;
  readonly code: string;
}

/** The ```ts (or ```typescript) blocks of a Markdown text, minus those marked not-checked. */
function typeScriptBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const opening = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[index] ?? '');
    if (!opening) continue;
    const fence = opening[1] ?? '```';
    const language = (opening[2] ?? '').toLowerCase();
    let end = index + 1;
    const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    while (end < lines.length && !closing.test(lines[end] ?? '')) end++;
    const skipped = (lines[index - 1] ?? '').trim() === NOT_CHECKED;
    if ((language === 'ts' || language === 'typescript') && !skipped) {
      blocks.push({ fenceLine: index + 1, code: lines.slice(index + 1, end).join('\n') });
    }
    index = end;
  }
  return blocks;
}

/** What an app compiling the examples would use; written out as the folder's tsconfig.json. */
const COMPILER_OPTIONS = {
  target: 'es2022',
  lib: ['es2023', 'dom', 'dom.iterable'],
  module: 'nodenext',
  moduleResolution: 'nodenext',
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  skipLibCheck: true,
  noEmit: true,
};

const README = path.join(REPO_ROOT, 'README.md');
const EXAMPLES_DIR = path.join(REPO_ROOT, 'test-results', 'readme-examples');
const blocks = typeScriptBlocks(readFileSync(README, 'utf8'));
const fileOf = (block: CodeBlock) => path.join(EXAMPLES_DIR, `readme-line-${block.fenceLine}.ts`);

/** Each block's compiler messages, as `README.md:<line>:<column> TS<code> <message>`. */
const problemsByFile = new Map<string, string[]>();
/** Messages about no block in particular (options, the library's own declarations). */
let globalProblems: string[] = [];

function describeDiagnostic(diagnostic: ts.Diagnostic, fenceLine: number | undefined): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (!diagnostic.file || diagnostic.start === undefined) return `TS${diagnostic.code} ${message}`;
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  const where =
    fenceLine === undefined
      ? `${path.relative(REPO_ROOT, diagnostic.file.fileName)}:${line + 1}:${character + 1}`
      : `README.md:${fenceLine + line + 1}:${character + 1}`;
  return `${where} TS${diagnostic.code} ${message}`;
}

beforeAll(() => {
  assertBuilt();
  rmSync(EXAMPLES_DIR, { recursive: true, force: true });
  mkdirSync(EXAMPLES_DIR, { recursive: true });
  writeFileSync(path.join(EXAMPLES_DIR, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
  writeFileSync(
    path.join(EXAMPLES_DIR, 'tsconfig.json'),
    `${JSON.stringify({ compilerOptions: COMPILER_OPTIONS, include: ['*.ts'] }, null, 2)}\n`,
  );
  for (const block of blocks) writeFileSync(fileOf(block), `${block.code}\n`);

  const config = ts.getParsedCommandLineOfConfigFile(path.join(EXAMPLES_DIR, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!config) throw new Error('test-results/readme-examples/tsconfig.json could not be read');
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const fenceLineOf = new Map(blocks.map((block) => [path.resolve(fileOf(block)), block.fenceLine]));
  globalProblems = config.errors.map((diagnostic) => describeDiagnostic(diagnostic, undefined));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const fileName = diagnostic.file ? path.resolve(diagnostic.file.fileName) : undefined;
    const fenceLine = fileName === undefined ? undefined : fenceLineOf.get(fileName);
    const text = describeDiagnostic(diagnostic, fenceLine);
    if (fileName === undefined || fenceLine === undefined) globalProblems.push(text);
    else problemsByFile.set(fileName, [...(problemsByFile.get(fileName) ?? []), text]);
  }
});

describe('the README’s TypeScript examples', () => {
  it('compile with no message outside the blocks themselves (options, the package’s declarations)', () => {
    expect(globalProblems).toEqual([]);
  });

  it.each(blocks.map((block) => [block.fenceLine, block] as const))(
    'the ```ts block at README.md line %i compiles against steadfast/*',
    (_line, block) => {
      expect(problemsByFile.get(path.resolve(fileOf(block))) ?? []).toEqual([]);
    },
  );
});

describe('finding the README’s TypeScript blocks', () => {
  const markdown = [
    '# Title', // 1
    '```ts', // 2
    "import { a } from 'a';", // 3
    '```', // 4
    '<!-- not-checked -->', // 5
    '```ts', // 6
    'fragment(', // 7
    '```', // 8
    '```js', // 9
    'notTypeScript()', // 10
    '```', // 11
    '````typescript', // 12
    '```', // 13
    'const inner = 1;', // 14
    '````', // 15
  ].join('\n');

  it('takes ```ts and ```typescript blocks with their fence line, leaving out js and not-checked blocks', () => {
    expect(typeScriptBlocks(markdown)).toEqual([
      { fenceLine: 2, code: "import { a } from 'a';" },
      { fenceLine: 12, code: '```\nconst inner = 1;' },
    ]);
  });

  it('finds blocks in the README', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });
});
