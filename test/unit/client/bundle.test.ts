/**
 * The built script (`npm run build`, which `npm test` runs first): what the two minifiers must
 * leave as it is. Chrome honours the compile hint only as the script's first line, and the linked
 * source map is how an error in a user's console leads back to `src/client/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLE_PATH } from '../../support/autosave-test-server.js';

const bundle = readFileSync(BUNDLE_PATH, 'utf8');
const lines = bundle.trimEnd().split('\n');

describe('the built browser script', () => {
  it('starts with Chrome’s compile hint and ends by linking its source map', () => {
    expect(lines[0]).toBe('//# allFunctionsCalledOnLoad');
    expect(lines.at(-1)).toBe('//# sourceMappingURL=auto-save-service.js.map');
  });

  it('maps back to the client’s own sources, every one of which exists, and to no package', () => {
    const map = JSON.parse(readFileSync(`${BUNDLE_PATH}.map`, 'utf8')) as {
      sources: string[];
      mappings: string;
      names: string[];
    };
    expect(map.sources).toContain('../../src/client/auto-save-service.ts');
    for (const source of map.sources) {
      expect(source).toMatch(/^\.\.\/\.\.\/src\/(client|protocol)\//);
      expect(existsSync(path.resolve(path.dirname(BUNDLE_PATH), source))).toBe(true);
    }
    // Original names survive in the map, so a stack trace can be read in the source's own terms.
    expect(map.names).toContain('createAutoSaveService');
    expect(map.mappings.length).toBeGreaterThan(1000);
  });
});
