/** Renders the profile form to HTML in Node, for the page that hydrates it (react-app.jsx, `ssr`). */
import { renderToString } from 'react-dom/server';
import { ProfileForm } from './react-form.jsx';

export const render = () => renderToString(<ProfileForm />);
