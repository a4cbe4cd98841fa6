// No session: browsers are redirected to sign in, API clients get 401 JSON.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { request } from './harness/http.mjs';
import { testStore } from './harness/redis.mjs';

describe('unauthenticated requests', () => {
  const s = gatedServer();

  it('redirects a browser navigation to the sign-in page with rd', async () => {
    const res = await request(s.base, '/reports/q3?year=2026&x=a%20b', {
      headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.location, s.base);
    assert.equal(loc.origin, s.base);
    assert.equal(loc.pathname, '/_authgate/login');
    assert.equal(loc.searchParams.get('rd'), '/reports/q3?year=2026&x=a%20b');
    assert.equal(res.headers['x-status'], 'no_session');
  });

  for (const [what, headers] of [
    ['Accept: application/json', { Accept: 'application/json' }],
    ['X-Requested-With: XMLHttpRequest', { 'X-Requested-With': 'XMLHttpRequest' }],
  ]) {
    it(`answers 401 JSON to an API client (${what})`, async () => {
      const res = await request(s.base, '/api/items', { headers });
      assert.equal(res.status, 401);
      assert.ok(res.headers['www-authenticate'], 'WWW-Authenticate present');
      assert.match(res.headers['content-type'], /application\/json/);
      const body = JSON.parse(res.body);
      assert.equal(body.success, false);
      assert.equal(body.data, null);
      assert.equal(body.errors[0].code, 'no_session');
      assert.ok(body.errors[0].message);
      assert.ok(body.metadata.timestamp);
    });
  }

  it('leaves ungated locations open', async () => {
    const res = await request(s.base, '/public/page');
    assert.equal(res.status, 200);
  });

  it('reports health as JSON', async () => {
    const res = await request(s.base, '/_authgate/health');
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body);
    assert.equal(body.status, 'ok');
    assert.equal(body.store.backend, testStore);
  });
});
