// authgate_bearer API locations against a real IdP: valid, missing, forged and under-scoped JWT access tokens, RFC 6750 challenges, key rotation.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { gatedServer } from './harness/gate.mjs';
import { testServer } from './harness/env.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp, testApi } from './harness/idp.mjs';
import { authorize, clientCredentials, exchangeCode } from './harness/oidc_client.mjs';
import { request } from './harness/http.mjs';
import { Nginx, echoServer, makePrefix, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';

const idp = {};
after(async () => {
  if (idp.server) await idp.server.stop();
});

const secret = 'api-client-secret-0123456789abcdef';
const gate = gatedServer({
  prepare: async () => { idp.server = await startIdp(); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`),
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret algs=RS256,ES256;`,
  locations: (backend) => `
        location /api/ {
            authgate_bearer corp audience=${testApi} scopes=api:read;
            add_header X-Status $authgate_status always;
            add_header X-Worker $pid always;
            proxy_pass http://127.0.0.1:${backend};
        }`,
  started: async (g) => {
    await idp.server.addClient(idpClient({
      client_id: 'gate', client_secret: secret, redirect_uris: [`${g.base}/_authgate/callback/corp`],
    }));
    // A web app of the IdP that gets user access tokens for the API (code flow + resource).
    await idp.server.addClient(idpClient({
      client_id: 'api-app', client_secret: 'api-app-secret-0123456789abcdef',
      redirect_uris: ['http://127.0.0.1:9/cb'],
    }));
  },
});

const bearer = (token, headers = {}) => ({ headers: { Authorization: `Bearer ${token}`, ...headers } });
const now = () => Math.floor(Date.now() / 1000);

// Access token claims for the test API, valid now; `extra` overrides.
function apiClaims(extra = {}) {
  return {
    iss: idp.server.issuer, aud: testApi, sub: 'sub-bob', client_id: 'api-app',
    preferred_username: 'bob', email: 'bob@example.com', groups: ['staff'],
    scope: 'api:read', iat: now(), exp: now() + 300, ...extra,
  };
}

// A real access token for alice from the IdP: code flow with the resource indicator.
async function userAccessToken(scope = 'openid api:read') {
  const client = idp.server.client('api-app');
  const a = await authorize(idp.server, client, new Agent(), { scope, resource: testApi });
  const tok = await exchangeCode(idp.server, client, { code: a.params.code, verifier: a.verifier, resource: testApi });
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  return tok.body.access_token;
}

function assertEnvelope(res, code) {
  assert.match(res.headers['content-type'], /^application\/json/);
  const body = JSON.parse(res.body);
  assert.equal(body.success, false);
  assert.equal(body.data, null);
  assert.ok(Array.isArray(body.errors) && body.errors.length === 1, res.body);
  assert.equal(body.errors[0].code, code);
  assert.equal(typeof body.errors[0].message, 'string');
  assert.ok(body.metadata?.timestamp, res.body);
  return body;
}

// 401, an RFC 6750 invalid_token challenge, the envelope with the precise reason, and the
// same reason in $authgate_status.
function assertInvalidToken(res, label, code) {
  assert.equal(res.status, 401, `${label}: ${res.status} ${res.body}`);
  const challenge = res.headers['www-authenticate'];
  assert.match(challenge, /^Bearer realm="authgate", error="invalid_token", error_description="[^"]+"$/, label);
  assertEnvelope(res, code);
  assert.equal(res.headers['x-status'], code, label);
}

test('a real access token from the IdP passes; identity goes upstream, client-sent identity headers do not', async () => {
  const token = await userAccessToken();
  const res = await request(gate.base, '/api/items', bearer(token, {
    'X-Auth-User': 'mallory', 'X-Auth-Email': 'mallory@evil.example', 'X-Auth-Groups': 'admins',
  }));
  assert.equal(res.status, 200, res.body);
  assert.equal(res.headers['x-status'], 'allowed');
  const echoed = JSON.parse(res.body);
  assert.equal(echoed.user, 'sub-alice');  // the access token carries no preferred_username
  assert.equal(echoed.email, '');
  assert.equal(echoed.groups, '');
  assert.equal(echoed.uri, '/api/items');
});

test('a token with identity claims maps them to the identity headers', async () => {
  const res = await request(gate.base, '/api/me', bearer(await idp.server.sign(apiClaims()), { 'x-auth-user': 'mallory' }));
  assert.equal(res.status, 200, res.body);
  const echoed = JSON.parse(res.body);
  assert.equal(echoed.user, 'bob');
  assert.equal(echoed.email, 'bob@example.com');
  assert.equal(echoed.groups, 'staff');
});

test('no Authorization header: 401 with a bare Bearer challenge and the JSON envelope, never a redirect', async () => {
  for (const accept of ['application/json', 'text/html,application/xhtml+xml']) {
    const res = await request(gate.base, '/api/items', { headers: { Accept: accept } });
    assert.equal(res.status, 401, accept);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="authgate"', accept);
    assert.equal(res.headers.location, undefined, accept);
    assert.equal(res.headers['x-status'], 'no_session');
    assertEnvelope(res, 'no_session');
  }
  // Another scheme, or "Bearer" with nothing after it, is no token either.
  for (const authorization of ['Basic YWxpY2U6cGFzcw==', 'Bearer ', 'Bearer']) {
    const res = await request(gate.base, '/api/items', { headers: { Authorization: authorization } });
    assert.equal(res.status, 401, authorization);
    assert.match(res.headers['www-authenticate'], /^Bearer realm="authgate"/, authorization);
  }
});

test('a session cookie is no substitute for a token in a bearer location', async () => {
  const res = await request(gate.base, '/api/items', { headers: { Cookie: 'authgate_session=whatever' } });
  assert.equal(res.status, 401);
  assert.equal(res.headers['www-authenticate'], 'Bearer realm="authgate"');
});

test('an expired token: 401 invalid_token', async () => {
  const token = await idp.server.sign(apiClaims({ iat: now() - 7200, exp: now() - 3600 }));
  const res = await request(gate.base, '/api/items', bearer(token));
  assertInvalidToken(res, 'expired', 'token_expired');
  // Within the provider's clock skew (60 s by default) it is still accepted.
  const recent = await idp.server.sign(apiClaims({ iat: now() - 400, exp: now() - 20 }));
  assert.equal((await request(gate.base, '/api/items', bearer(recent))).status, 200);
});

test('a token for another audience: 401 invalid_token', async () => {
  for (const aud of ['https://other-api.authgate.test', 'gate', ['https://other-api.authgate.test']]) {
    const res = await request(gate.base, '/api/items', bearer(await idp.server.sign(apiClaims({ aud }))));
    assertInvalidToken(res, `aud ${JSON.stringify(aud)}`, 'audience_mismatch');
  }
  const noAud = apiClaims();
  delete noAud.aud;
  assertInvalidToken(await request(gate.base, '/api/items', bearer(await idp.server.sign(noAud))), 'no aud', 'audience_mismatch');
  // An audience list that includes the API is fine.
  const both = await idp.server.sign(apiClaims({ aud: ['https://other-api.authgate.test', testApi] }));
  assert.equal((await request(gate.base, '/api/items', bearer(both))).status, 200);
});

test('a token without the required scope: 403 insufficient_scope naming the scope', async () => {
  for (const scope of ['api:write', '', 'api:readx openid']) {
    const res = await request(gate.base, '/api/items', bearer(await idp.server.sign(apiClaims({ scope }))));
    assert.equal(res.status, 403, `scope "${scope}": ${res.body}`);
    assert.match(res.headers['www-authenticate'], /^Bearer realm="authgate", error="insufficient_scope"/);
    assert.match(res.headers['www-authenticate'], /scope="api:read"/);
    assert.equal(res.headers['x-status'], 'insufficient_scope');
    assertEnvelope(res, 'insufficient_scope');
  }
  // A real token the IdP issued with only api:write.
  const res = await request(gate.base, '/api/items', bearer(await userAccessToken('openid api:write')));
  assert.equal(res.status, 403, res.body);
  assert.match(res.headers['www-authenticate'], /error="insufficient_scope"/);
});

test('extra scopes besides the required one are fine', async () => {
  const res = await request(gate.base, '/api/items', bearer(await idp.server.sign(apiClaims({ scope: 'api:write api:read' }))));
  assert.equal(res.status, 200, res.body);
});

test('forged tokens: unknown key, alg none, HS256 with the public key, tampered signature or payload, wrong issuer', async () => {
  const claims = apiClaims();
  const good = await idp.server.sign(claims);
  const [h, p, s] = good.split('.');
  const flip = (str, i) => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1);
  const rsaKid = idp.server.signingKey('RS256').kid;
  const forged = {
    'unknown key': [await idp.server.signWithUnknownKey(claims), 'token_unknown_key'],
    'unknown key under the IdP kid': [await idp.server.signWithUnknownKey(claims, { kid: rsaKid }), 'token_invalid'],
    'alg none': [idp.server.unsigned(claims), 'token_invalid'],
    'alg none with the IdP kid': [idp.server.unsigned(claims, { kid: rsaKid }), 'token_invalid'],
    'HS256 with the PEM public key': [await idp.server.hs256WithPublicKey(claims, { secret: 'pem' }), 'token_alg_not_allowed'],
    'HS256 with the DER public key': [await idp.server.hs256WithPublicKey(claims, { secret: 'der' }), 'token_alg_not_allowed'],
    'HS256 with the JWK public key': [await idp.server.hs256WithPublicKey(claims, { secret: 'jwk' }), 'token_alg_not_allowed'],
    'PS256 (not in algs) with the IdP RSA key': [await idp.server.sign(claims, { alg: 'PS256' }), 'token_alg_not_allowed'],
    'tampered signature': [`${h}.${p}.${flip(s, 10)}`, 'token_invalid'],
    'signature removed': [`${h}.${p}.`, 'token_invalid'],
    'tampered payload': [`${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'api:read api:admin' })).toString('base64url')}.${s}`, 'token_invalid'],
    'wrong issuer': [await idp.server.sign(apiClaims({ iss: 'https://evil.example' })), 'issuer_mismatch'],
    'issuer with a trailing slash': [await idp.server.sign(apiClaims({ iss: `${idp.server.issuer}/` })), 'issuer_mismatch'],
    'not a JWT': ['opaque-token-value', 'token_invalid'],
  };
  for (const [label, [token, code]] of Object.entries(forged)) {
    assertInvalidToken(await request(gate.base, '/api/items', bearer(token)), label, code);
  }
  // The untouched token still passes: the refusals above were about the forgeries.
  assert.equal((await request(gate.base, '/api/items', bearer(good))).status, 200);
});

test('ES256 tokens from the IdP\'s EC key pass (algs=RS256,ES256)', async () => {
  const res = await request(gate.base, '/api/items', bearer(await idp.server.sign(apiClaims(), { alg: 'ES256' })));
  assert.equal(res.status, 200, res.body);
});

// Counts nginx workers by their X-Worker pid (the Apache harness sends none).
test('a key rotation at the IdP is picked up without restarting nginx',
  { skip: testServer === 'apache' && 'nginx workers (X-Worker)' }, async () => {
  // Both workers know the current keys.
  for (let i = 0; i < 4; i++) {
    assert.equal((await request(gate.base, '/api/items', bearer(await idp.server.sign(apiClaims())))).status, 200);
  }
  const before = await idp.server.sign(apiClaims());
  const { current, removed } = await idp.server.rotateKeys({ keepOld: false });
  assert.ok(removed.length > 0);
  await sleep(1100);  // the gate re-fetches a JWKS at most once a second per worker
  const token = await idp.server.sign(apiClaims());
  assert.ok(current.includes(JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).kid));
  // Every worker meets the new kid, fetches the JWKS again and accepts the token.
  const workers = new Set(gate.nginx.workerPids().map(String));
  const seen = new Set();
  for (let i = 0; i < 60 && seen.size < workers.size; i++) {
    const res = await request(gate.base, '/api/items', bearer(token));
    assert.equal(res.status, 200, `request ${i} with the new kid: ${res.status} ${res.body}`);
    assert.equal(JSON.parse(res.body).user, 'bob');
    seen.add(res.headers['x-worker']);
  }
  assert.deepEqual([...seen].sort(), [...workers].sort(), 'every worker served the new kid');
  // The real IdP signs its access tokens with the new key too.
  assert.equal((await request(gate.base, '/api/items', bearer(await userAccessToken()))).status, 200);
  // A token under a key the IdP no longer publishes is refused once the gate has re-fetched
  // (a worker that has not re-fetched keeps its cached JWKS for up to an hour).
  for (let i = 0; i < 4; i++) {
    assertInvalidToken(await request(gate.base, '/api/items', bearer(before)), `retired key, request ${i}`, 'token_unknown_key');
  }
});

test('a client credentials token (no user) is admitted under its client id as the user', async () => {
  await idp.server.addClient(idpClient({
    client_id: 'api-caller', client_secret: 'api-caller-secret-0123456789abcdef',
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
  }));
  const cc = await clientCredentials(idp.server, idp.server.client('api-caller'), { scope: 'api:read', resource: testApi });
  assert.equal(cc.status, 200, JSON.stringify(cc.body));
  const res = await request(gate.base, '/api/items', bearer(cc.body.access_token));
  // oidc-provider sets sub to the client id; sub is the last user claim candidate.
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).user, 'api-caller');
  const write = await clientCredentials(idp.server, idp.server.client('api-caller'), { scope: 'api:write', resource: testApi });
  assert.equal(write.status, 200, JSON.stringify(write.body));
  assert.equal((await request(gate.base, '/api/items', bearer(write.body.access_token))).status, 403);
});

test('the rest of the site keeps its session-based gate', async () => {
  const res = await request(gate.base, '/app', bearer(await idp.server.sign(apiClaims())));
  assert.equal(res.status, 302);
  assert.match(res.headers.location, /\/_authgate\/login/);
});

test('a bearer API is gated even when no other location of the config uses authgate', async () => {
  // The whole http block: one API location, nothing with "authgate on" or authgate_endpoint.
  const [port, backend] = await freePorts(2);
  const prefix = makePrefix();
  fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`);
  const nginx = new Nginx(prefix, `
    authgate_key_file ${prefix}/authgate.key;
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate client_secret_file=${prefix}/corp.secret;
    server {
        listen 127.0.0.1:${port};
        location /api/ {
            authgate_bearer corp audience=${testApi} scopes=api:read;
            proxy_pass http://127.0.0.1:${backend};
        }
    }
${echoServer(backend)}`, { port });
  try {
    await nginx.start();
    const base = `http://127.0.0.1:${port}`;
    const none = await request(base, '/api/items', { headers: { 'X-Auth-User': 'mallory' } });
    assert.equal(none.status, 401, `no token must not reach the API: ${none.status} ${none.body}`);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="authgate"');
    const forged = await request(base, '/api/items', bearer(idp.server.unsigned(apiClaims())));
    assert.equal(forged.status, 401);
    const ok = await request(base, '/api/items', bearer(await idp.server.sign(apiClaims())));
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).user, 'bob');
  } finally {
    const bad = nginx.badLogLines();
    await nginx.stop();
    removePrefix(prefix);
    assert.deepEqual(bad, []);
  }
});
