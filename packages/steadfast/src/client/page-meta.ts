/** What the server tells the service through `<meta>` tags (DESIGN.md "Sign-in and tokens"). */
import { CSRF_META, USER_META } from '../protocol/constants.js';

export const CLEAR_META = 'autosave-clear';

function metaContents(root: Document, name: string): string[] {
  return [...root.querySelectorAll<HTMLMetaElement>(`meta[name="${name}"]`)].map((meta) =>
    meta.content.trim(),
  );
}

/** Read on every request, not once: a page may refresh its token after load. */
export function readCsrfToken(root: Document): string | null {
  return metaContents(root, CSRF_META)[0] || null;
}

export function readSignedInUser(root: Document): string | null {
  return metaContents(root, USER_META)[0] || null;
}

/** Keys of drafts the server accepted a submit for, rendered on the page after that submit. */
export function readClearedKeys(root: Document): string[] {
  return metaContents(root, CLEAR_META).filter((key) => key !== '');
}
