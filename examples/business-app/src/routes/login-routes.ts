/** `/login` and `/logout` (DESIGN.md "Sign-in and tokens"). */
import type { FastifyInstance } from 'fastify';
import { signIn, signOut } from 'steadfast/fastify';
import { renderPage } from '../render.js';
import type { RouteDependencies } from './route-dependencies.js';

const field = (body: unknown, name: string): string => {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
};

export function registerLoginRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { persistence, showDemoLogin } = dependencies;

  app.get('/', async (_request, reply) => reply.redirect('/products', 303));

  app.get('/login', async (request, reply) => {
    if (request.user) return reply.redirect('/products', 303);
    return renderPage(
      persistence,
      request,
      reply,
      'login',
      { username: '', error: null, showDemoLogin },
      { title: 'Sign in' },
    );
  });

  app.post(
    '/login',
    { preHandler: app.csrfProtection, config: { rateLimit: app.loginRateLimit } },
    async (request, reply) => {
      const username = field(request.body, 'username').trim();
      const password = field(request.body, 'password');
      const user = username && password ? await signIn(request, username, password) : null;
      if (!user) {
        // One message for an unknown user and a wrong password: the page must not reveal which
        // usernames exist.
        return renderPage(
          persistence,
          request,
          reply,
          'login',
          { username, error: 'Wrong username or password.', showDemoLogin },
          { title: 'Sign in', status: 401 },
        );
      }
      return reply.redirect('/products', 303);
    },
  );

  app.post('/logout', { preHandler: app.csrfProtection }, async (request, reply) => {
    await signOut(request);
    return reply.redirect('/login', 303);
  });
}
