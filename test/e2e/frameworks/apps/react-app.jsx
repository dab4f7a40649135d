/**
 * The React page: the root's `data-mode` picks what is mounted: the form (`form`), the form behind
 * the router (`routed`), or the server-rendered form hydrated (`ssr`).
 */
import { createRoot, hydrateRoot } from 'react-dom/client';
import { ProfileForm, Routed } from './react-form.jsx';

const root = document.getElementById('root');
const mode = root.dataset.mode;
if (mode === 'ssr') {
  hydrateRoot(root, <ProfileForm />, {
    onRecoverableError: (error) => console.error(`recoverable error: ${error.message}`),
  });
} else {
  createRoot(root).render(mode === 'routed' ? <Routed /> : <ProfileForm />);
}
