/**
 * Contenteditable drafts are HTML, and drafts can come back from the server or from storage
 * another script could write. They never go through innerHTML: the browser's Sanitizer
 * (`setHTML`, which drops scripts, event handlers and javascript: URLs) restores them where it
 * exists, and elsewhere only their text is restored, which is safe if plainer.
 */
interface SanitizingElement {
  setHTML?: (html: string) => void;
}

export function sanitizeHtmlInto(target: HTMLElement, html: string): void {
  const sanitizing = target as HTMLElement & SanitizingElement;
  if (typeof sanitizing.setHTML === 'function') {
    sanitizing.setHTML(html);
    return;
  }
  target.textContent = new DOMParser().parseFromString(html, 'text/html').body.textContent;
}
