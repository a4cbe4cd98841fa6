// Regression (issue 8, item 4): an internal redirect (try_files, error_page, named location) into a location with other authentication settings runs the full check again; a token or session accepted in the first location is not reused.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { testServer } from './harness/env.mjs';
import { idpClient, startIdp, testApi } from './harness/idp.mjs';
import { request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

const idp = {};
after(async () => {
  if (idp.server) await idp.server.stop();
});

const secret = 'redirect-client-secret-0123456789ab';
// nginx subrequests (SSI, auth_request, mirror) and internal redirects (try_files, error_page);
// the Apache equivalents are in apache_module.test.mjs.
const nginxOnly = testServer === 'apache' && 'nginx config';
const gate = gatedServer({
  nginxOnly: Boolean(nginxOnly),
  prepare: async () => { idp.server = await startIdp(); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`),
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret;`,
  locations: (backend) => `
        # bearer api:read -> bearer api:admin
        location /read/tf/ {
            authgate_bearer corp audience=${testApi} scopes=api:read;
            try_files /no-such-file @admin;
        }
        location /read/ep/ {
            authgate_bearer corp audience=${testApi} scopes=api:read;
            error_page 404 = @admin;
        }
        location @admin {
            authgate_bearer corp audience=${testApi} scopes=api:admin;
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }
        # session -> bearer
        location /web/tf/ {
            authgate on;
            try_files /no-such-file @api;
        }
        location /web/ep/ {
            authgate on;
            error_page 404 = @api;
        }
        location @api {
            authgate_bearer corp audience=${testApi} scopes=api:read;
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }
        # bearer -> session
        location /token/tf/ {
            authgate_bearer corp audience=${testApi} scopes=api:read;
            try_files /no-such-file @web;
        }
        location /token/ep/ {
            authgate_bearer corp audience=${testApi} scopes=api:read;
            error_page 404 = @web;
        }
        location @web {
            authgate on;
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }
        # same authentication, other rules: only authorization runs again
        location /staff/ {
            authgate on;
            try_files /no-such-file @admins;
        }
        location @admins {
            authgate on;
            authgate_require group:admins;
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }`,
  started: async (g) => {
    await idp.server.addClient(idpClient({
      client_id: 'gate', client_secret: secret, redirect_uris: [`${g.base}/_authgate/callback/corp`],
    }));
  },
});

const now = () => Math.floor(Date.now() / 1000);
const token = (scope) => idp.server.sign({
  iss: idp.server.issuer, aud: testApi, sub: 'sub-bob', client_id: 'api-app', preferred_username: 'bob',
  scope, iat: now(), exp: now() + 300,
});
const bearer = (t) => ({ headers: { Authorization: `Bearer ${t}`, Accept: 'application/json' } });

test('an api:read token does not reach an api:admin location through try_files or error_page', { skip: nginxOnly }, async () => {
  const read = await token('api:read');
  for (const path of ['/read/tf/x', '/read/ep/x']) {
    const res = await request(gate.base, path, bearer(read));
    assert.equal(res.status, 403, `${path}: ${res.status} ${res.body}`);
    assert.match(res.headers['www-authenticate'] ?? '', /insufficient_scope/, path);
  }
  const admin = await token('api:read api:admin');
  for (const path of ['/read/tf/x', '/read/ep/x']) {
    const res = await request(gate.base, path, bearer(admin));
    assert.equal(res.status, 200, `${path}: ${res.body}`);
    assert.equal(JSON.parse(res.body).user, 'bob');
  }
});

test('a session cookie does not reach a bearer location through try_files or error_page', { skip: nginxOnly }, async () => {
  const session = await signIn(gate.base, 'alice', users.alice.password);
  for (const path of ['/web/tf/x', '/web/ep/x']) {
    const res = await request(gate.base, path, { headers: { Cookie: `authgate_session=${session}`, Accept: 'application/json' } });
    assert.equal(res.status, 401, `${path}: ${res.status} ${res.body}`);
    assert.match(res.headers['www-authenticate'] ?? '', /^Bearer realm="authgate"/, path);
    assert.doesNotMatch(res.body, /alice/, path);
  }
  // With a token as well, the bearer location takes the token's identity, not the session's.
  const res = await request(gate.base, '/web/tf/x', {
    headers: { Cookie: `authgate_session=${session}`, Authorization: `Bearer ${await token('api:read')}` },
  });
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).user, 'bob');
});

test('a bearer token does not reach a session location through try_files or error_page', { skip: nginxOnly }, async () => {
  const read = await token('api:read');
  for (const path of ['/token/tf/x', '/token/ep/x']) {
    const res = await request(gate.base, path, bearer(read));
    assert.equal(res.status, 401, `${path}: ${res.status} ${res.body}`);
    assert.match(res.headers['www-authenticate'] ?? '', /^Cookie realm="authgate"/, path);
  }
  const session = await signIn(gate.base, 'alice', users.alice.password);
  const res = await request(gate.base, '/token/tf/x', {
    headers: { Cookie: `authgate_session=${session}`, Authorization: `Bearer ${read}` },
  });
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).user, 'alice');
});

test('the same authentication settings re-run only authorization: staff denied, admins allowed', { skip: nginxOnly }, async () => {
  const bob = await signIn(gate.base, 'bob', users.bob.password);
  const denied = await request(gate.base, '/staff/x', { headers: { Cookie: `authgate_session=${bob}` } });
  assert.equal(denied.status, 403);
  const alice = await signIn(gate.base, 'alice', users.alice.password);
  const allowed = await request(gate.base, '/staff/x', { headers: { Cookie: `authgate_session=${alice}` } });
  assert.equal(allowed.status, 200, allowed.body);
  assert.equal(JSON.parse(allowed.body).user, 'alice');
});
