/**
 * Errors on pages are pages: a stale form, an unknown URL, too many sign-ins and a database outage
 * answer a browser with the app's layout and words, and anything that does not ask for HTML with
 * the API's JSON, the status the same either way.
 */
import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../support/databases.js';
import { useSeededApp } from './app-fixture.js';
import { inputValue, PageClient } from './page-client.js';

describeEachDatabase('business app: error pages', (current) => {
  const fixture = useSeededApp(current);

  it('answers a form sent with a stale CSRF token with a page saying the draft is kept', async () => {
    const client = new PageClient(fixture().app);
    await client.signIn('olga', fixture().otherUser.password);
    await client.get('/settings');
    const response = await client.post('/settings/preferences', { _csrf: 'stale-token', pageSize: '10' });
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('<title>This form has expired');
    expect(response.body).toContain('kept as a draft on this device');
    expect(response.body).toContain('href="/products"');
    // The page carries the layout (the browser service keeps running there) but no fresh token.
    expect(response.body).toContain('/assets/auto-save-service.js');
    expect(response.body).not.toContain('name="csrf-token"');
  });

  it('answers the same stale token with JSON when the client does not ask for HTML', async () => {
    const client = new PageClient(fixture().app);
    await client.signIn('olga', fixture().otherUser.password);
    const response = await fixture().app.inject({
      method: 'POST',
      url: '/settings/preferences',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        cookie: client.cookieHeader,
      },
      payload: '_csrf=stale&pageSize=10',
    });
    expect(response.statusCode).toBe(403);
    expect(response.headers['content-type']).toContain('application/json');
    expect(response.json()).toMatchObject({ error: 'csrf_invalid' });
  });

  it('leaves a pending flash message for the next real page', async () => {
    const client = new PageClient(fixture().app);
    await client.signIn('olga', fixture().otherUser.password);
    const form = await client.get('/settings');
    const saved = await client.post('/settings/preferences', {
      pageSize: '10',
      theme: 'light',
      version_pageSize: inputValue(form.body, 'version_pageSize') ?? '',
      version_theme: inputValue(form.body, 'version_theme') ?? '',
    });
    expect(saved.statusCode).toBe(303);
    const missing = await client.get('/no-such-page');
    expect(missing.statusCode).toBe(404);
    expect(missing.body).not.toContain('Your preferences are saved.');
    expect((await client.get('/settings')).body).toContain('Your preferences are saved.');
  });

  it('answers an unknown page with a 404 page, and an unknown API route with JSON', async () => {
    const client = new PageClient(fixture().app);
    const page = await client.get('/no-such-page');
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('<title>Not found');
    expect(page.body).toContain('href="/login"');
    const api = await fixture().app.inject({
      method: 'GET',
      url: '/api/no-such-route',
      headers: { accept: 'text/html' },
    });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ error: 'not_found' });
  });
});

describeEachDatabase('business app: rate-limit page', (current) => {
  const fixture = useSeededApp(current, { rateLimits: { loginPerMinute: 2 } });

  it('answers sign-ins past the limit with a page that says to wait', async () => {
    const client = new PageClient(fixture().app);
    await client.get('/login');
    await client.post('/login', { username: 'demo', password: 'wrong-1' });
    await client.post('/login', { username: 'demo', password: 'wrong-2' });
    const limited = await client.post('/login', { username: 'demo', password: 'demo' });
    expect(limited.statusCode).toBe(429);
    expect(limited.body).toContain('<title>Too many attempts');
    expect(limited.body).toContain('Wait a minute');
  });
});

describe('page error texts', () => {
  it('never shows a server fault’s own message to the user', async () => {
    const { pageErrorText } = await import('../../../examples/business-app/src/page-errors.js');
    expect(pageErrorText(500, 'internal_error', 'secret stack detail').message).not.toContain('secret');
    expect(pageErrorText(400, 'invalid_request', 'name: too long').message).toBe('name: too long');
  });
});
