/**
 * Whether a server-rendered form is still waiting for its framework. React's `hydrateRoot` marks its
 * container at once, but adopts the elements inside only when hydration runs, tasks later. A value
 * written before then is taken by React for the server's (it keeps the element's value and records
 * it as its own, while its state keeps the default), and a notice inserted before then is a
 * hydration mismatch. React puts its keys on the DOM nodes themselves (`__reactContainer$…` on the
 * root's container, `__reactFiber$…` on each element it owns); both names are stable since React 17.
 */

function hasKey(node: Node, prefix: string): boolean {
  return Object.keys(node).some((key) => key.startsWith(prefix));
}

export function awaitsHydration(element: HTMLElement): boolean {
  // parentNode, not parentElement: hydrateRoot(document, …) makes the document the container.
  for (let node = element.parentNode; node !== null; node = node.parentNode)
    // The element's own keys last, and only inside a root: a form's keys include one per field.
    if (hasKey(node, '__reactContainer$')) return !hasKey(element, '__reactFiber$');
  return false;
}
