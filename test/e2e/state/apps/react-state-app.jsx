/** The invoice page: rendered (`data-mode="client"`), or its server-rendered HTML hydrated (`ssr`). */
import { createRoot, hydrateRoot } from 'react-dom/client';
import { InvoiceApp } from './invoice-app.jsx';

const root = document.getElementById('root');
if (root.dataset.mode === 'ssr') {
  hydrateRoot(root, <InvoiceApp />, {
    onRecoverableError: (error) => console.error(`recoverable error: ${error.message}`),
  });
} else {
  createRoot(root).render(<InvoiceApp />);
}
