// authgate_require: users, groups, any/all, several lines, and 403 for everyone else.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

describe('authgate_require', () => {
  const s = gatedServer({
    locations: (b) => `
        location /admin/   { authgate on; authgate_require any group:admins; proxy_pass http://127.0.0.1:${b}; }
        location /both/    { authgate on; authgate_require all group:admins group:staff; proxy_pass http://127.0.0.1:${b}; }
        location /bobonly/ { authgate on; authgate_require user:bob; proxy_pass http://127.0.0.1:${b}; }
        location /lines/   { authgate on; authgate_require group:staff; authgate_require user:alice; proxy_pass http://127.0.0.1:${b}; }
        location /files/   { authgate on; root /nonexistent; try_files $uri /admin/fallback; }`,
    apache: {
      locations: () => `
    <Location /admin/>
        AuthGateRequire any group:admins
    </Location>
    <Location /both/>
        AuthGateRequire all group:admins group:staff
    </Location>
    <Location /bobonly/>
        AuthGateRequire user:bob
    </Location>
    <Location /lines/>
        AuthGateRequire group:staff
        AuthGateRequire user:alice
    </Location>
    <Location /files/>
        ProxyPass !
        RewriteEngine On
        RewriteRule ^ /admin/fallback [PT]
    </Location>`,
    },
  });
  const sessions = {};
  const get = async (who, path, headers = {}) =>
    request(s.base, path, { headers: { Cookie: `authgate_session=${sessions[who]}`, ...headers } });

  it('signs in alice and bob', async () => {
    sessions.alice = await signIn(s.base, 'alice', users.alice.password);
    sessions.bob = await signIn(s.base, 'bob', users.bob.password);
  });

  const table = [
    ['/admin/x', 200, 403], ['/both/x', 200, 403], ['/bobonly/x', 403, 200], ['/lines/x', 200, 403], ['/app', 200, 200],
  ];
  for (const [path, alice, bob] of table) {
    it(`${path}: alice ${alice}, bob ${bob}`, async () => {
      const a = await get('alice', path);
      const b = await get('bob', path);
      assert.equal(a.status, alice);
      assert.equal(b.status, bob);
      for (const denied of [a, b].filter((r) => r.status === 403)) {
        assert.match(denied.body, /Access denied/);
        assert.match(denied.headers['content-type'], /text\/html/);
      }
    });
  }

  it('applies the new location\'s rules after an internal redirect', async () => {
    const a = await get('alice', '/files/missing');
    assert.equal(a.status, 200);
    assert.equal(JSON.parse(a.body).uri, '/admin/fallback');
    assert.equal(JSON.parse(a.body).user, 'alice');
    const b = await get('bob', '/files/missing');
    assert.equal(b.status, 403);
  });

  it('answers 403 JSON to API clients', async () => {
    const res = await get('bob', '/admin/x', { Accept: 'application/json' });
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.body).errors[0].code, 'forbidden');
  });
});
