// Regression (issue 8, item 2): nginx skips the ACCESS phase for subrequests; SSI includes, auth_request and mirror subrequests of a gated location are decided on the main request's credentials and never served unchecked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gatedServer } from './harness/gate.mjs';
import { testServer } from './harness/env.mjs';
import { request, signIn, sleep } from './harness/http.mjs';
import { freePorts } from './harness/ports.mjs';
import { users } from './harness/fixtures.mjs';

// A backend that counts what reaches it (the mirrored upstream).
const counting = { hits: [] };
before(async () => {
  [counting.port, counting.ssiPort] = await freePorts(2);
  counting.server = http.createServer((req, res) => {
    counting.hits.push({ url: req.url, user: req.headers['x-auth-user'] ?? '' });
    res.end('counted');
  });
  await new Promise((resolve) => counting.server.listen(counting.port, '127.0.0.1', resolve));
});
after(() => counting.server?.close());

// nginx subrequests (SSI, auth_request, mirror) and internal redirects (try_files, error_page);
// the Apache equivalents are in apache_module.test.mjs.
const nginxOnly = testServer === 'apache' && 'nginx config';
const s = gatedServer({
  nginxOnly: Boolean(nginxOnly),
  http: () => `
    server {
        listen 127.0.0.1:${counting.ssiPort};
        location / {
            default_type text/html;
            return 200 '<p>portal</p><!--# include virtual="/admins-only/part" --><p>end</p>';
        }
    }`,
  locations: (backend) => `
        location /secret/ { authgate on; proxy_pass http://127.0.0.1:${backend}; }
        location /admins-only/ {
            authgate on;
            authgate_require group:admins;
            proxy_pass http://127.0.0.1:${backend};
        }
        location = /ssi/open {
            ssi on;
            default_type text/html;
            return 200 '<p>open</p><!--# include virtual="/secret/part" --><p>end</p>';
        }
        location = /ssi/public {
            ssi on;
            default_type text/html;
            return 200 '<!--# include virtual="/public/part" -->';
        }
        location /portal/ {
            authgate on;
            ssi on;
            proxy_pass http://127.0.0.1:${counting.ssiPort};
        }
        location /ar/ {
            auth_request /authcheck;
            auth_request_set $gate_user $authgate_user;
            auth_request_set $gate_groups $authgate_groups;
            proxy_set_header X-Auth-User $gate_user;
            proxy_set_header X-Auth-Groups $gate_groups;
            proxy_pass http://127.0.0.1:${backend};
        }
        location = /authcheck {
            internal;
            authgate on;
            authgate_require group:admins;
        }
        location /ar-proxy/ {
            auth_request /authcheck-proxy;
            proxy_pass http://127.0.0.1:${backend};
        }
        location = /authcheck-proxy {
            internal;
            authgate on;
            proxy_pass http://127.0.0.1:${counting.port};
        }
        location /mirrored/ {
            mirror /audit;
            proxy_pass http://127.0.0.1:${backend};
        }
        location = /audit {
            internal;
            authgate on;
            proxy_pass http://127.0.0.1:${counting.port}$request_uri;
        }`,
});

const cookie = (session) => ({ headers: { Cookie: `authgate_session=${session}` } });

test('SSI include of a gated location: anonymous gets no protected content, signed-in gets it', { skip: nginxOnly }, async () => {
  const anon = await request(s.base, '/ssi/open');
  assert.equal(anon.status, 200);
  assert.match(anon.body, /<p>open<\/p>/);
  assert.doesNotMatch(anon.body, /secret\/part/, 'the gated part was served to an anonymous client');
  assert.doesNotMatch(anon.body, /_authgate|login/i, 'no redirect or sign-in page inside the page');

  const session = await signIn(s.base, 'bob', users.bob.password);
  const res = await request(s.base, '/ssi/open', cookie(session));
  assert.equal(res.status, 200);
  const part = JSON.parse(res.body.match(/\{.*\}/)[0]);
  assert.equal(part.uri, '/secret/part');
  assert.equal(part.user, 'bob');
  assert.equal(part.cookie, '', 'the session cookie is not forwarded by the subrequest either');
});

test('SSI include of an open location: client-sent identity headers and gate cookies are removed there too', { skip: nginxOnly }, async () => {
  // `return` answers in the rewrite phase, so the main request itself was never stripped.
  const res = await request(s.base, '/ssi/public', {
    headers: { 'X-Auth-User': 'admin', 'X-Auth-Groups': 'admins', Cookie: 'authgate_session=forged; theme=dark' },
  });
  assert.equal(res.status, 200);
  const part = JSON.parse(res.body);
  assert.equal(part.uri, '/public/part');
  assert.equal(part.user, '');
  assert.equal(part.groups, '');
  assert.equal(part.cookie, 'theme=dark');
});

test('SSI include in a gated page: the included location\'s own rules apply', { skip: nginxOnly }, async () => {
  const bob = await signIn(s.base, 'bob', users.bob.password);
  const denied = await request(s.base, '/portal/', cookie(bob));
  assert.equal(denied.status, 200);
  assert.match(denied.body, /<p>portal<\/p>/);
  assert.doesNotMatch(denied.body, /admins-only/, 'bob is not in admins');
  const alice = await signIn(s.base, 'alice', users.alice.password);
  const allowed = await request(s.base, '/portal/', cookie(alice));
  assert.match(allowed.body, /"uri":"\/admins-only\/part"/);
  assert.match(allowed.body, /"user":"alice"/);
});

test('auth_request to a gated internal location: 401 anonymous, 403 wrong group, 2xx with identity', { skip: nginxOnly }, async () => {
  const anon = await request(s.base, '/ar/x');
  assert.equal(anon.status, 401, anon.body);
  assert.match(anon.headers['www-authenticate'] ?? '', /^Cookie realm="authgate"/);
  assert.equal(anon.headers.location, undefined);

  const bob = await signIn(s.base, 'bob', users.bob.password);
  const denied = await request(s.base, '/ar/x', { headers: { Cookie: `authgate_session=${bob}`, 'X-Auth-User': 'admin' } });
  assert.equal(denied.status, 403, denied.body);

  const alice = await signIn(s.base, 'alice', users.alice.password);
  for (let i = 0; i < 3; ++i) {  // the first lookup may park (Redis), later ones hit the cache
    const res = await request(s.base, '/ar/x', { headers: { Cookie: `authgate_session=${alice}`, 'X-Auth-User': 'mallory' } });
    assert.equal(res.status, 200, res.body);
    const seen = JSON.parse(res.body);
    assert.equal(seen.user, 'alice');
    assert.equal(seen.groups, 'admins,staff');
  }
});

test('auth_request to a gated location with an upstream: the upstream is reached only when allowed', { skip: nginxOnly }, async () => {
  counting.hits.length = 0;
  const anon = await request(s.base, '/ar-proxy/x');
  assert.equal(anon.status, 401);
  assert.equal(counting.hits.length, 0, 'the auth upstream was reached anonymously');
  const bob = await signIn(s.base, 'bob', users.bob.password);
  const res = await request(s.base, '/ar-proxy/x', cookie(bob));
  assert.equal(res.status, 200, res.body);
  assert.equal(counting.hits.length, 1);
  assert.equal(counting.hits[0].user, 'bob', 'identity headers on the subrequest');
});

test('mirror into a gated location: an anonymous mirror request never reaches the upstream', { skip: nginxOnly }, async () => {
  counting.hits.length = 0;
  for (let i = 0; i < 3; ++i) {
    const res = await request(s.base, `/mirrored/anon${i}`, { headers: { 'X-Auth-User': 'admin' } });
    assert.equal(res.status, 200);
  }
  await sleep(300);
  assert.deepEqual(counting.hits, [], 'anonymous mirror subrequests reached the gated upstream');

  const session = await signIn(s.base, 'bob', users.bob.password);
  const res = await request(s.base, '/mirrored/signed', cookie(session));
  assert.equal(res.status, 200);
  for (let i = 0; i < 20 && counting.hits.length === 0; ++i) await sleep(50);
  assert.deepEqual(counting.hits, [{ url: '/mirrored/signed', user: 'bob' }]);
});
