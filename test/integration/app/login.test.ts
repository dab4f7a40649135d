import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../support/databases.js';
import { useSeededApp } from './app-fixture.js';
import { PageClient } from './page-client.js';

describeEachDatabase('business app: sign-in', (current) => {
  const fixture = useSeededApp(current);

  it('sends a visitor who is not signed in to /login with 303', async () => {
    const client = new PageClient(fixture().app);
    const response = await client.get('/products');
    expect(response.statusCode).toBe(303);
    expect(response.location).toBe('/login');
  });

  it('shows the login form with a CSRF token, the demo account hint, and no autosave-user', async () => {
    const client = new PageClient(fixture().app);
    const response = await client.get('/login');
    expect(response.statusCode).toBe(200);
    expect(client.csrfToken).toBeTruthy();
    expect(response.body).toContain('username <strong>demo</strong>, password <strong>demo</strong>');
    expect(response.body).toContain('id="login-form" data-autosave="off"');
    expect(response.body).not.toContain('name="autosave-user"');
  });

  it('refuses a wrong password with 401, keeping the username and not signing in', async () => {
    const client = new PageClient(fixture().app);
    await client.get('/login');
    const response = await client.post('/login', { username: 'demo', password: 'wrong' });
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain('Wrong username or password.');
    expect(response.body).toContain('value="demo"');
    expect((await client.get('/products')).statusCode).toBe(303);
  });

  it('refuses a login post without the CSRF token', async () => {
    const client = new PageClient(fixture().app);
    const response = await client.post('/login', { username: 'demo', password: 'demo' });
    expect(response.statusCode).toBe(403);
  });

  it('signs in with demo/demo, redirects to /products and carries autosave-user on every page', async () => {
    const client = new PageClient(fixture().app);
    await client.signIn('demo', 'demo');
    const products = await client.get('/products');
    expect(products.statusCode).toBe(200);
    expect(products.body).toContain(`<meta name="autosave-user" content="${fixture().demoUserId}">`);
    expect(products.body).toContain('<span class="save-status" data-autosave-status>');
    expect(products.body).toContain('<script src="/assets/auto-save-service.js" defer></script>');
    expect(products.body).toContain('data-autosave-signout');
  });

  it('signs out with POST /logout: the session no longer opens pages', async () => {
    const client = new PageClient(fixture().app);
    await client.signIn('demo', 'demo');
    await client.get('/products');
    const response = await client.post('/logout', {});
    expect(response.statusCode).toBe(303);
    expect(response.location).toBe('/login');
    expect((await client.get('/products')).statusCode).toBe(303);
  });

  describe('assets', () => {
    it('serves the stylesheet and the browser service bundle', async () => {
      const css = await fixture().app.inject({ method: 'GET', url: '/assets/app.css' });
      expect(css.statusCode).toBe(200);
      expect(css.headers['content-type']).toContain('text/css');
      const bundle = await fixture().app.inject({ method: 'GET', url: '/assets/auto-save-service.js' });
      expect(bundle.statusCode).toBe(200);
      expect(bundle.headers['content-type']).toContain('javascript');
    });
  });
});

describeEachDatabase('business app: configured sign-in rate limit', (current) => {
  const fixture = useSeededApp(current, { rateLimits: { loginPerMinute: 3 } });

  it('answers 429 past the configured sign-in limit, even for the right password', async () => {
    const client = new PageClient(fixture().app);
    await client.get('/login');
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      statuses.push(
        (await client.post('/login', { username: 'demo', password: `guess-${attempt}` })).statusCode,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await client.post('/login', { username: 'demo', password: 'demo' })).statusCode).toBe(429);
  });
});

describeEachDatabase('business app: configured sync rate limit', (current) => {
  // A fixture of its own: the sign-in below must not count against the sign-in limit test above.
  const fixture = useSeededApp(current, { rateLimits: { syncPerMinute: 2 } });

  it('answers 429 past the configured sync limit', async () => {
    const { app } = fixture();
    const client = new PageClient(app);
    await client.signIn('olga', fixture().otherUser.password);
    await client.get('/products');
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await client.postJson('/api/autosave/sync/', {
        clientId: '6f1c2b9e-1f7a-4c1e-9a51-0c6a3f2d9b11',
        changes: [],
      });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([200, 200, 429]);
  });
});
