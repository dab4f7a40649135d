import { describe, expect, it } from 'vitest';
import { awaitsHydration } from '../../../packages/steadfast/src/client/hydration.js';

/** Nodes as awaitsHydration reads them: their own keys and their parentNode. */
function node(parentNode: object | null, keys: Record<string, unknown> = {}): HTMLElement {
  return { parentNode, ...keys } as unknown as HTMLElement;
}

describe('awaitsHydration', () => {
  const documentNode = node(null);
  const body = node(documentNode);

  it('waits for a form inside a React root that React has not adopted yet', () => {
    const root = node(body, { __reactContainer$abc: {} });
    expect(awaitsHydration(node(node(root)))).toBe(true);
  });

  it('does not wait once React put its fiber on the form', () => {
    const root = node(body, { __reactContainer$abc: {} });
    expect(awaitsHydration(node(root, { __reactFiber$abc: {} }))).toBe(false);
  });

  it('does not wait outside any React root, whatever the form carries', () => {
    expect(awaitsHydration(node(body))).toBe(false);
    expect(awaitsHydration(node(body, { __reactFiber$abc: {} }))).toBe(false);
  });

  it('finds a root on the document itself (hydrateRoot(document, …))', () => {
    const hydratedDocument = node(null, { __reactContainer$xyz: {} });
    expect(awaitsHydration(node(node(hydratedDocument)))).toBe(true);
  });

  it('never reads the form’s own keys outside a root (a form lists one key per field)', () => {
    let read = false;
    const form = new Proxy(node(body), {
      ownKeys(target) {
        read = true;
        return Reflect.ownKeys(target);
      },
    });
    expect(awaitsHydration(form)).toBe(false);
    expect(read).toBe(false);
  });
});
