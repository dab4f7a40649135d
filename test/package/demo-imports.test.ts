/**
 * The demo uses the library as any app would, through the package's entry points only: no file
 * under examples/ may reach into the library's files, whether by a relative path into packages/
 * (or anywhere outside its own app folder) or by a `steadfast/<x>` subpath the package does not
 * export (`steadfast/src/…`, `steadfast/dist/…`). Otherwise the demo could keep working while the
 * published package does not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { exportedSpecifiers, manifest, REPO_ROOT } from './library-package.js';

const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');
const SOURCE_FILE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist']);
const PACKAGE_NAME = new RegExp(`^${manifest.name}(/|$)`);

interface ModuleReference {
  readonly specifier: string;
  readonly line: number;
}

/** Every module or file a source names: imports, exports, require, import(), import types, `new URL(…, import.meta.url)`. */
function moduleReferences(fileName: string, text: string): ModuleReference[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const references: ModuleReference[] = [];
  const add = (node: ts.Node | undefined) => {
    if (node && ts.isStringLiteralLike(node)) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      references.push({ specifier: node.text, line });
    }
  };
  const isImportMetaUrl = (node: ts.Node | undefined) =>
    node !== undefined &&
    ts.isPropertyAccessExpression(node) &&
    ts.isMetaProperty(node.expression) &&
    node.expression.keywordToken === ts.SyntaxKind.ImportKeyword &&
    node.name.text === 'url';
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression.getText(source);
      if (['import', 'require', 'require.resolve', 'import.meta.resolve'].includes(callee)) {
        add(node.arguments[0]);
      }
    } else if (ts.isNewExpression(node) && node.expression.getText(source) === 'URL') {
      if (isImportMetaUrl(node.arguments?.[1])) add(node.arguments?.[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const reference of [...source.referencedFiles, ...source.typeReferenceDirectives]) {
    const line = source.getLineAndCharacterOfPosition(reference.pos).line + 1;
    references.push({ specifier: reference.fileName, line });
  }
  return references;
}

/** The app folder a file belongs to: examples/<app>/. */
function appDirectoryOf(fileName: string): string {
  const [app] = path.relative(EXAMPLES_DIR, fileName).split(path.sep);
  return path.join(EXAMPLES_DIR, app ?? '');
}

/** Why a reference reaches into the library, or null when it goes through an entry point (or elsewhere). */
function libraryReach(fileName: string, specifier: string): string | null {
  if (PACKAGE_NAME.test(specifier)) {
    return exportedSpecifiers.includes(specifier)
      ? null
      : `is not an entry point of ${manifest.name} (its exports: ${exportedSpecifiers.join(', ')})`;
  }
  if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
    const target = path.resolve(path.dirname(fileName), specifier);
    const appDirectory = appDirectoryOf(fileName);
    if (target.startsWith(path.join(REPO_ROOT, 'packages') + path.sep)) {
      return `reaches into ${path.relative(REPO_ROOT, target)}: import ${manifest.name}/<entry> instead`;
    }
    if (target !== appDirectory && !target.startsWith(appDirectory + path.sep)) {
      return `leaves ${path.relative(REPO_ROOT, appDirectory)} for ${path.relative(REPO_ROOT, target)}`;
    }
  }
  return null;
}

function problemsIn(fileName: string, text: string): string[] {
  return moduleReferences(fileName, text).flatMap(({ specifier, line }) => {
    const reason = libraryReach(fileName, specifier);
    return reason === null ? [] : [`${path.relative(REPO_ROOT, fileName)}:${line} '${specifier}' ${reason}`];
  });
}

function sourceFilesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRECTORIES.has(entry.name) ? [] : sourceFilesUnder(full);
    return entry.isFile() && SOURCE_FILE.test(entry.name) ? [full] : [];
  });
}

describe('the demo under examples/', () => {
  const files = sourceFilesUnder(EXAMPLES_DIR);

  it('imports the library only through its entry points (steadfast/<entry>)', () => {
    expect(files.map((file) => path.relative(REPO_ROOT, file))).toContain(
      path.join('examples', 'business-app', 'src', 'main.ts'),
    );
    const problems = files.flatMap((file) => problemsIn(file, readFileSync(file, 'utf8')));
    expect(problems).toEqual([]);
  });
});

describe('what counts as reaching into the library', () => {
  const file = path.join(EXAMPLES_DIR, 'business-app', 'src', 'routes', 'product-routes.ts');
  const verdicts = (text: string) =>
    moduleReferences(file, text).map(({ specifier }) => [specifier, libraryReach(file, specifier) === null]);

  it('allows the entry points, the app’s own files and other packages', () => {
    const text = [
      "import { createPersistence } from 'steadfast/persistence';",
      "import type { SyncRequest } from 'steadfast/protocol';",
      "export { steadfastPlugin } from 'steadfast/fastify';",
      "const script = import.meta.resolve('steadfast/auto-save-service.js');",
      "import { render } from '../render.js';",
      "import config from '../../scripts/config.js';",
      "import Fastify from 'fastify';",
      "import other from 'steadfast-extras/x';",
      "const views = new URL('../../views/', import.meta.url);",
    ].join('\n');
    expect(verdicts(text).filter(([, allowed]) => !allowed)).toEqual([]);
    expect(verdicts(text)).toHaveLength(9);
  });

  it('refuses library sources, build output, unexported subpaths and paths out of the app, however imported', () => {
    const text = [
      "import { ActivityLog } from 'steadfast/src/persistence/activity-log.js';",
      "import type { Database } from 'steadfast/dist/db/schema.js';",
      "import steadfast from 'steadfast';",
      "export * from 'steadfast/http';",
      "const { openDatabase } = await import('../../../../packages/steadfast/src/db/index.js');",
      "const cli = require('../../../../packages/steadfast/dist/cli/main.js');",
      "type Row = import('../../../../packages/steadfast/src/db/schema.js').UserRow;",
      "const bundle = new URL('../../../../packages/steadfast/dist/browser/auto-save-service.js', import.meta.url);",
      "import { helper } from '../../../../test/support/http-fixtures.js';",
      "import type { Other } from '../../../other-app/src/x.js';",
    ].join('\n');
    expect(verdicts(text).filter(([, allowed]) => allowed)).toEqual([]);
    expect(verdicts(text)).toHaveLength(10);
  });
});
