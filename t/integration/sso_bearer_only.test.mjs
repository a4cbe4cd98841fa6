// A server whose only authgate directive is authgate_bearer: the location is gated (a
// regression test: the gate once stayed idle there and let tokenless requests through).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Nginx, echoServer, makePrefix, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { writeKeyFile } from './harness/fixtures.mjs';
import { idpClient, startIdp, testApi } from './harness/idp.mjs';
import { clientCredentials } from './harness/oidc_client.mjs';
import { request } from './harness/http.mjs';

const s = {};
before(async () => {
  s.idp = await startIdp({ clients: [idpClient({ client_id: 'api-client', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] })] });
  const [port, backend] = await freePorts(2);
  s.prefix = makePrefix();
  writeKeyFile(`${s.prefix}/authgate.key`);
  fs.writeFileSync(`${s.prefix}/idp.secret`, 'unused-secret');
  s.base = `http://127.0.0.1:${port}`;
  s.nginx = await new Nginx(s.prefix, `
    authgate_key_file ${s.prefix}/authgate.key;
    authgate_oidc_provider idp issuer=${s.idp.issuer} client_id=api-client
        client_secret_file=${s.prefix}/idp.secret algs=RS256,ES256;
    server {
        listen 127.0.0.1:${port};
        location /api/ {
            authgate_bearer idp audience=${testApi} scopes=api:read;
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }
        location /open/ {
            authgate_bearer off;
            proxy_pass http://127.0.0.1:${backend};
        }
    }
${echoServer(backend)}`, { port }).start();
});
after(async () => {
  const bad = s.nginx ? s.nginx.badLogLines() : [];
  if (s.nginx) await s.nginx.stop();
  if (s.idp) await s.idp.stop();
  if (s.prefix) removePrefix(s.prefix);
  assert.deepEqual(bad, []);
});

test('no token: 401 with a Bearer challenge; a spoofed identity never passes', async () => {
  const res = await request(s.base, '/api/x', { headers: { 'x-auth-user': 'admin' } });
  assert.equal(res.status, 401);
  assert.equal(res.headers['www-authenticate'], 'Bearer realm="authgate"');
  assert.equal(res.headers['x-status'], 'no_session');
});

test('a real access token from the IdP passes with its identity', async () => {
  const cc = await clientCredentials(s.idp, s.idp.client('api-client'), { scope: 'api:read', resource: testApi });
  assert.equal(cc.status, 200, JSON.stringify(cc.body));
  const res = await request(s.base, '/api/x', {
    headers: { authorization: `Bearer ${cc.body.access_token}`, 'x-auth-user': 'admin' } });
  assert.equal(res.status, 200);
  const echoed = JSON.parse(res.body);
  assert.notEqual(echoed.user, 'admin');
  assert.ok(echoed.user.length > 0);
});

test('authgate_bearer off leaves a nested location open, still without forged identities', async () => {
  const res = await request(s.base, '/open/x', { headers: { 'x-auth-user': 'admin' } });
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).user, '');
});
