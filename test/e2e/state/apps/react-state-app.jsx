/**
 * The invoice page, by the root's `data-mode`: rendered with the bundled script's service
 * (`client`), its server-rendered HTML hydrated (`ssr`), or rendered with the app's own service
 * from `steadfast/client` given through AutoSaveServiceContext, on a page without the script (`module`).
 */
import { createRoot, hydrateRoot } from 'react-dom/client';
import { createAutoSaveService } from 'steadfast/client';
import { AutoSaveServiceContext } from 'steadfast/react';
import { InvoiceApp } from './invoice-app.jsx';

const root = document.getElementById('root');
const mode = root.dataset.mode;
if (mode === 'ssr') {
  hydrateRoot(root, <InvoiceApp />, {
    onRecoverableError: (error) => console.error(`recoverable error: ${error.message}`),
  });
} else if (mode === 'module') {
  const service = createAutoSaveService();
  service.start();
  createRoot(root).render(
    <AutoSaveServiceContext.Provider value={service}>
      <InvoiceApp />
    </AutoSaveServiceContext.Provider>,
  );
} else {
  createRoot(root).render(<InvoiceApp />);
}
