/**
 * The bundled script (`dist/auto-save-service.js`): creates the service with its defaults and
 * starts it on DOMContentLoaded, as `window.autoSaveService`. A page that wants to configure it
 * first adds `data-autosave-manual` to the script tag and calls `window.Steadfast.createAutoSaveService`.
 */
import { type AutoSaveService, createAutoSaveService } from './auto-save-service.js';

declare global {
  interface Window {
    autoSaveService?: AutoSaveService;
    Steadfast?: { readonly createAutoSaveService: typeof createAutoSaveService };
  }
}

const manual = document.currentScript?.hasAttribute('data-autosave-manual');
window.Steadfast = { createAutoSaveService };

if (!manual) {
  const service = createAutoSaveService();
  window.autoSaveService = service;
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => service.start());
  else service.start();
}
