/** Renders the invoice to HTML in Node, for the page that hydrates it (react-state-app.jsx, `ssr`). */
import { renderToString } from 'react-dom/server';
import { InvoiceApp } from './invoice-app.jsx';

export const render = () => renderToString(<InvoiceApp />);
