import { AutosaveTestServer } from './test/support/autosave-test-server.js';
import { launchBrowser } from './test/support/browser.js';
const H = `window.ks = (count, outside) => { const k = (el, v) => { el.dispatchEvent(new KeyboardEvent('keydown', { key: 'a', bubbles: true, cancelable: true })); el.dispatchEvent(new KeyboardEvent('keypress', { key: 'a', bubbles: true, cancelable: true })); el.dispatchEvent(new InputEvent('beforeinput', { data: 'a', inputType: 'insertText', bubbles: true, cancelable: true })); el.value = v; el.dispatchEvent(new InputEvent('input', { data: 'a', inputType: 'insertText', bubbles: true })); el.dispatchEvent(new KeyboardEvent('keyup', { key: 'a', bubbles: true, cancelable: true })); };
 const all = outside ? [document.getElementById('outside')] : Array.from(document.querySelectorAll('#bench-form input')); let seed = 1; const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
 const t = Array.from({ length: count }, () => all[Math.floor(rnd() * all.length)]); const s = performance.now(); t.forEach((el, i) => k(el, 'x' + i + Math.random())); return (performance.now() - s) / count; };
 window.minOf = (n, count, outside) => { let m = Infinity; for (let i = 0; i < n; i++) m = Math.min(m, ks(count, outside)); return m; };`;
const server = await AutosaveTestServer.start({ crossOriginIsolated: true, cacheScripts: true, files: process.env.ALT ? { '/alt.js': process.env.ALT } : {} });
const libs = process.env.ALT ? ['base', 'alt'] : ['base'];
for (const lib of libs) for (const n of [100, 1000]) server.pages.set(`/${lib}${n}`, { body: `<form id="bench-form" action="/x" method="post">${Array.from({ length: n }, (_, i) => `<input type="text" name="f${i}">`).join('')}</form><input id="outside">`, head: `<script src="/${lib === 'alt' ? 'alt' : 'auto-save-service'}.js" data-autosave-manual></script><script>${H}</script>`, loadsService: false });
const browser = await launchBrowser();
const context = await browser.newContext();
await context.addCookies([server.sessionCookie('bench')]);
for (let r = 0; r < Number(process.env.RUNS ?? 2); r++) for (const lib of libs) for (const n of [100, 1000]) {
  const p = await context.newPage(); await p.goto(server.url(`/${lib}${n}`));
  await p.evaluate(`window.service = Steadfast.createAutoSaveService({ logLevel: 'warn' }); window.service.start()`);
  await p.waitForTimeout(100);
  if (process.env.TOUCH) await p.evaluate(`document.querySelectorAll('#bench-form input').forEach((el) => el.dispatchEvent(new InputEvent('input', { bubbles: true })))`);
  if (process.env.WARM) await p.evaluate('minOf(3, 200, true)');
  const first = await p.evaluate('ks(1000)');
  const min = await p.evaluate('minOf(15, 200)');
  const outside = await p.evaluate('minOf(15, 200, true)');
  console.log(lib, n, 'first-batch', first.toFixed(4), 'min-batch', min.toFixed(4), 'outside', outside.toFixed(4), 'net', (min - outside).toFixed(4));
  await p.close();
}
await browser.close(); await server.close();
