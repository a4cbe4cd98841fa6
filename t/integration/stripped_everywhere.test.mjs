// Regression (issue 8, item 5): custom identity header names and custom cookie names configured anywhere in the http block are stripped in every location of it, gated or not, on sibling servers too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { cookieValue, loginPage, request, signIn, submitLogin } from './harness/http.mjs';
import { echoServer } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { users } from './harness/fixtures.mjs';

// Server A is the harness's default (X-Auth-* headers, authgate_session); server B shares a
// parent-domain cookie under its own name and sends identity under its own header names.
const b = {};
const s = gatedServer({
  prepare: async () => { [b.port, b.backend] = await freePorts(2); b.base = `http://127.0.0.1:${b.port}`; },
  http: () => `
    server {
        listen 127.0.0.1:${b.port};
        authgate_cookie_name corp_sid;
        authgate_cookie_domain example.test;
        authgate_identity_headers user=X-Remote-User email=X-Remote-Email name=off groups=X-Remote-Groups;
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; proxy_pass http://127.0.0.1:${b.backend}; }
        location /open/ { proxy_pass http://127.0.0.1:${b.backend}; }
    }
    server {
        listen 127.0.0.1:${b.backend};
        location / {
            default_type application/json;
            return 200 '{"user":"$http_x_auth_user","remote":"$http_x_remote_user","remote_email":"$http_x_remote_email","remote_groups":"$http_x_remote_groups","cookie":"$http_cookie"}';
        }
    }`,
  locations: (backend) => `
        location /also-public/ {
            default_type application/json;
            proxy_pass http://127.0.0.1:${backend};
        }`,
  apache: {
    echo: () => [b.backend],
    servers: () => `
Listen 127.0.0.1:${b.port}
<VirtualHost 127.0.0.1:${b.port}>
    AuthGateCookieName corp_sid
    AuthGateCookieDomain example.test
    AuthGateIdentityHeaders user=X-Remote-User email=X-Remote-Email name=off groups=X-Remote-Groups
    <Location />
        AuthGate On
        ProxyPass http://127.0.0.1:${b.backend}/
    </Location>
    <Location /open/>
        AuthGate Off
    </Location>
    <Location /_authgate/>
        SetHandler authgate-endpoint
        ProxyPass !
    </Location>
</VirtualHost>`,
    locations: () => `
    <Location /also-public/>
        AuthGate Off
    </Location>`,
  },
});

async function signInB(name) {
  const { csrf, csrfCookie } = await loginPage(b.base);
  const res = await submitLogin(b.base, { username: name, password: users[name].password, csrf, csrfCookie });
  const session = cookieValue(res.setCookies, 'corp_sid');
  assert.equal(res.status, 303, res.body);
  assert.ok(session, 'server B names its session cookie corp_sid');
  return session;
}

const spoofedB = { 'X-Remote-User': 'mallory', 'X-Remote-Email': 'mallory@evil.example', 'X-Remote-Groups': 'admins' };

test('server A (default names) strips B\'s custom identity headers and B\'s cookie, gated and open', async () => {
  const session = await signIn(s.base, 'bob', users.bob.password);
  for (const path of ['/app', '/public/x', '/also-public/x']) {
    const res = await request(s.base, path, {
      headers: { ...spoofedB, Cookie: `theme=dark; corp_sid=stolen; __Host-corp_sid=stolen2; authgate_session=${session}` },
    });
    assert.equal(res.status, 200, `${path}: ${res.body}`);
    const seen = JSON.parse(res.body);
    assert.equal(seen.remote, '', `${path}: X-Remote-User reached the upstream`);
    assert.equal(seen.cookie, 'theme=dark', `${path}: a gate cookie reached the upstream`);
  }
});

test('server B (custom names) strips the default identity headers and default cookies, gated and open', async () => {
  const session = await signInB('alice');
  const gated = await request(b.base, '/app', {
    headers: { ...spoofedB, 'X-Auth-User': 'mallory', Cookie: `corp_sid=${session}; authgate_session=x; __Host-authgate_session=y; authgate_flow=z; lang=en` },
  });
  assert.equal(gated.status, 200, gated.body);
  const seen = JSON.parse(gated.body);
  assert.equal(seen.remote, 'alice');
  assert.equal(seen.remote_email, 'alice@example.com');
  assert.equal(seen.remote_groups, 'admins,staff');
  assert.equal(seen.user, '');
  assert.equal(seen.cookie, 'lang=en');

  const open = await request(b.base, '/open/x', {
    headers: { ...spoofedB, 'X-Auth-User': 'mallory', Cookie: `corp_sid=${session}; authgate_session=x; authgate_csrf=c; lang=en` },
  });
  assert.equal(open.status, 200, open.body);
  const seenOpen = JSON.parse(open.body);
  assert.equal(seenOpen.remote, '');
  assert.equal(seenOpen.remote_email, '');
  assert.equal(seenOpen.user, '');
  assert.equal(seenOpen.cookie, 'lang=en');
});

test('a session of one server is not a session on the other', async () => {
  const session = await signInB('alice');
  const res = await request(s.base, '/app', { headers: { Cookie: `corp_sid=${session}` } });
  assert.equal(res.status, 302);
});
