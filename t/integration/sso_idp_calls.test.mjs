// Regression (issue 8, JWKS re-fetched on every request, IdP calls and password hashing on one pool): one discovery/JWKS fetch in flight per provider and worker, back-off after a failed JWKS, and sign-in stays fast while the IdP is slow.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { startIdp, testApi } from './harness/idp.mjs';
import { request, signIn, sleep } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

const idp = {};
after(async () => { if (idp.server) await idp.server.stop(); });

const gate = gatedServer({
  workers: 1,  // one worker: "one fetch per provider and worker" is then one fetch
  prepare: async () => { idp.server = await startIdp(); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, 'unused-secret-0123456789abcdef\n'),
  http: ({ prefix }) => `
    authgate_idp_threads 2;
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret;
    authgate_oidc_provider other issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret;`,
  locations: (backend) => `
        location /api/ {
            authgate_bearer corp audience=${testApi};
            proxy_pass http://127.0.0.1:${backend};
        }
        location /other-api/ {
            authgate_bearer other audience=${testApi};
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }`,
});

const now = () => Math.floor(Date.now() / 1000);
const bearer = (token) => ({ headers: { Authorization: `Bearer ${token}` } });
const token = () => idp.server.sign({
  iss: idp.server.issuer, aud: testApi, sub: 'sub-bob', scope: 'api:read', iat: now(), exp: now() + 300 });
const faultHits = async (path) => (await idp.server.events()).filter((e) => e.type === 'fault' && e.path === path).length;

test('many concurrent bearer requests with slow discovery and JWKS: one fetch of each; sign-in stays fast', async (t) => {
  await idp.server.events({ clear: true });
  await idp.server.addFault({ path: '/.well-known/openid-configuration', delayMs: 800 });
  await idp.server.addFault({ path: '/jwks', delayMs: 1500 });
  const jwt = await token();
  const calls = Array.from({ length: 48 }, () => request(gate.base, '/api/x', bearer(jwt)));
  await sleep(300);  // the fetches are in flight now
  const t0 = Date.now();
  await signIn(gate.base, 'alice', users.alice.password);
  const signInMs = Date.now() - t0;
  const results = await Promise.all(calls);
  await idp.server.clearFaults();
  const discovery = await faultHits('/.well-known/openid-configuration');
  const jwks = await faultHits('/jwks');
  t.diagnostic(`sign-in took ${signInMs} ms during the slow fetches; ${discovery} discovery and ${jwks} JWKS fetches for 48 requests`);
  assert.ok(signInMs < 1000, `password sign-in took ${signInMs} ms while the IdP was slow (${discovery} discovery and ${jwks} JWKS fetches)`);
  for (const r of results) assert.equal(r.status, 200, r.body);
  assert.equal(discovery, 1, 'one discovery fetch');
  assert.equal(jwks, 1, 'one JWKS fetch');
});

test('a failing JWKS is not fetched again on every request: back-off, then recovery', async (t) => {
  await idp.server.events({ clear: true });
  await idp.server.addFault({ path: '/jwks', status: 500, body: '{}' });
  const jwt = await token();
  const t0 = Date.now();
  let requests = 0;
  while (Date.now() - t0 < 3000) {
    const res = await request(gate.base, '/other-api/x', bearer(jwt));
    assert.equal(res.status, 502, res.body);
    assert.equal(res.headers['x-status'], 'idp_unreachable');
    requests++;
    await sleep(50);
  }
  assert.ok(requests > 20, `${requests} requests`);
  t.diagnostic(`${requests} requests in 3 s while the JWKS failed`);
  assert.equal(await faultHits('/jwks'), 1, `JWKS fetched once for ${requests} requests in 3 s`);
  await idp.server.clearFaults();
  await sleep(Math.max(0, t0 + 5300 - Date.now()));  // past the 5 s back-off
  const res = await request(gate.base, '/other-api/x', bearer(jwt));
  assert.equal(res.status, 200, res.body);
});
