// Regression (issue 8, ID tokens accepted as bearer access tokens): an ID token, real or forged, never works as an API credential; RFC 9068 access tokens do.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp, testApi } from './harness/idp.mjs';
import { authorize, exchangeCode } from './harness/oidc_client.mjs';
import { request } from './harness/http.mjs';

const idp = {};
after(async () => { if (idp.server) await idp.server.stop(); });

const secret = 'idt-client-secret-0123456789abcdef';
const gate = gatedServer({
  prepare: async () => { idp.server = await startIdp(); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`),
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret rp_logout=on;`,
  locations: (backend) => `
        location /api/ {
            authgate_bearer corp audience=${testApi};
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }
        location /default-aud/ {
            authgate_bearer corp;
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }
        location /client-aud/ {
            authgate_bearer corp audience=gate;
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }`,
  started: async (g) => {
    await idp.server.addClient(idpClient({
      client_id: 'gate', client_secret: secret, redirect_uris: [`${g.base}/_authgate/callback/corp`],
      post_logout_redirect_uris: [`${g.base}/_authgate/logout`],
    }));
    await idp.server.addClient(idpClient({
      client_id: 'api-app', client_secret: 'api-app-secret-0123456789abcdef', redirect_uris: ['http://127.0.0.1:9/cb'],
    }));
  },
});

const bearer = (token) => ({ headers: { Authorization: `Bearer ${token}` } });
const now = () => Math.floor(Date.now() / 1000);
const header = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url'));
const payload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
const bearerLocations = ['/api/x', '/default-aud/x', '/client-aud/x'];

function assertRefused(res, label) {
  assert.equal(res.status, 401, `${label}: ${res.status} ${res.body}`);
  assert.match(res.headers['www-authenticate'], /^Bearer realm="authgate", error="invalid_token"/, label);
  assert.notEqual(res.headers['x-status'], 'allowed', label);
}

const claims = (extra = {}) => ({
  iss: idp.server.issuer, aud: testApi, sub: 'sub-bob', preferred_username: 'bob',
  scope: 'api:read', iat: now(), exp: now() + 300, ...extra,
});

// The gate's own sign-in, then its RP-initiated logout: the IdP URL carries the ID token.
async function idTokenFromLogout() {
  await idp.server.loginAs('alice');
  const agent = new Agent();
  const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
  assert.equal(done.last.status, 200, done.last.body);
  const confirm = await agent.fetch(`${gate.base}/_authgate/logout`);
  assert.equal(confirm.status, 200, confirm.body);
  const out = await agent.submitForm(confirm, {}, { stopAt: idp.server.issuer });
  assert.equal(out.last.status, 303, out.last.body);
  const hint = new URL(out.location).searchParams.get('id_token_hint');
  assert.equal(hint.split('.').length, 3);
  return hint;
}

test('a real ID token issued to the gate is refused at every bearer location', async () => {
  const client = idp.server.client('gate');
  const a = await authorize(idp.server, client, new Agent(), { redirect_uri: `${gate.base}/_authgate/callback/corp` });
  const tok = await exchangeCode(idp.server, client, { code: a.params.code, verifier: a.verifier, redirect_uri: a.redirect_uri });
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  const idToken = tok.body.id_token;
  assert.equal(payload(idToken).aud, 'gate');
  for (const path of bearerLocations) assertRefused(await request(gate.base, path, bearer(idToken)), path);
});

test('the ID token a sign-in leaks through the RP-logout URL is refused, also after the logout', async () => {
  const idToken = await idTokenFromLogout();
  assert.ok(payload(idToken).nonce, 'the gate asks for a nonce');
  for (let i = 0; i < 2; i++) {  // both workers, and a second time from any cache
    for (const path of bearerLocations) assertRefused(await request(gate.base, path, bearer(idToken)), `${path} #${i}`);
  }
});

test('forged tokens carrying nonce, at_hash or c_hash are refused, even for the API audience', async () => {
  for (const extra of [{ nonce: 'n-1' }, { at_hash: 'abc' }, { c_hash: 'abc' }]) {
    const label = Object.keys(extra)[0];
    assertRefused(await request(gate.base, '/api/x', bearer(await idp.server.sign(claims(extra)))), label);
    assertRefused(await request(gate.base, '/client-aud/x',
      bearer(await idp.server.sign(claims({ ...extra, aud: 'gate' })))), `${label} at audience=gate`);
  }
  // The same claims without them pass: the refusals were about the ID-token markers.
  assert.equal((await request(gate.base, '/api/x', bearer(await idp.server.sign(claims())))).status, 200);
});

test('a token whose only audience is the client id is an ID token unless audience= names it', async () => {
  for (const aud of ['gate', ['gate']]) {
    const token = await idp.server.sign(claims({ aud }));
    // Verified (and cached) at the location that asked for this audience first ...
    for (let i = 0; i < 3; i++) {
      const ok = await request(gate.base, '/client-aud/x', bearer(token));
      assert.equal(ok.status, 200, `explicit audience=gate: ${ok.body}`);
      assert.equal(JSON.parse(ok.body).user, 'bob');
    }
    // ... still refused where the audience merely defaults to the client id.
    for (let i = 0; i < 3; i++) assertRefused(await request(gate.base, '/default-aud/x', bearer(token)), `default audience ${JSON.stringify(aud)}`);
  }
  // A typ that names another kind of JWT is no access token either.
  assertRefused(await request(gate.base, '/client-aud/x', bearer(await idp.server.sign(claims({ aud: 'gate' }), { typ: 'logout+jwt' }))), 'typ logout+jwt');
});

test('RFC 9068 access tokens (typ at+jwt) pass, also for the client id as audience', async () => {
  for (const typ of ['at+jwt', 'application/at+jwt', 'AT+JWT']) {
    const token = await idp.server.sign(claims({ aud: 'gate' }), { typ });
    const res = await request(gate.base, '/default-aud/x', bearer(token));
    assert.equal(res.status, 200, `${typ}: ${res.body}`);
  }
  // A real access token of the IdP for the API resource.
  const client = idp.server.client('api-app');
  const a = await authorize(idp.server, client, new Agent(), { scope: 'openid api:read', resource: testApi });
  const tok = await exchangeCode(idp.server, client, { code: a.params.code, verifier: a.verifier, resource: testApi });
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  assert.equal(header(tok.body.access_token).typ, 'at+jwt');
  const res = await request(gate.base, '/api/x', bearer(tok.body.access_token));
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).user, 'sub-alice');
  // Its ID token, from the same exchange, is not.
  assertRefused(await request(gate.base, '/api/x', bearer(tok.body.id_token)), 'api-app ID token');
});
