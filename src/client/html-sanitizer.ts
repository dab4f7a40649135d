/**
 * Contenteditable drafts are HTML, and drafts can come back from the server or from storage
 * another script could write. Restoring them through innerHTML would run injected handlers, so
 * they are parsed inert (DOMParser never runs scripts) and stripped of active content first.
 */
const ACTIVE_ELEMENTS = 'script,style,iframe,frame,object,embed,link,meta,base,form,template,svg,math';
const URL_ATTRIBUTES = new Set(['href', 'src', 'xlink:href', 'action', 'formaction', 'srcset']);

export function sanitizeHtmlInto(target: HTMLElement, html: string): void {
  const parsed = new DOMParser().parseFromString(html, 'text/html').body;
  for (const element of Array.from(parsed.querySelectorAll(ACTIVE_ELEMENTS))) element.remove();
  for (const element of Array.from(parsed.querySelectorAll('*'))) {
    for (const attribute of Array.from(element.attributes)) {
      const name = attribute.name.toLowerCase();
      const scriptUrl = URL_ATTRIBUTES.has(name) && /^\s*(javascript|data|vbscript):/i.test(attribute.value);
      if (name.startsWith('on') || scriptUrl) element.removeAttribute(attribute.name);
    }
  }
  target.replaceChildren(
    ...Array.from(parsed.childNodes, (node) => target.ownerDocument.importNode(node, true)),
  );
}
