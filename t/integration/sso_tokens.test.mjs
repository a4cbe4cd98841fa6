// SSO ID-token validation through nginx: forged, expired and misdirected tokens are refused
// at the callback, JWKS key rotation at the IdP is picked up without a restart, two
// providers work side by side, and an unreachable IdP gives a clear 502 while ungated
// locations keep answering.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp } from './harness/idp.mjs';
import { freePort } from './harness/ports.mjs';
import { request } from './harness/http.mjs';

const idp = {};
after(async () => {
  for (const s of [idp.a, idp.b]) if (s) await s.stop();
});

const secretA = 'a-client-secret-0123456789abcdef0123';
const secretB = 'b-client-secret-0123456789abcdef0123';
const gate = gatedServer({
  setup: (prefix) => {
    fs.writeFileSync(`${prefix}/a.secret`, secretA);
    fs.writeFileSync(`${prefix}/b.secret`, secretB);
  },
  prepare: async () => {
    idp.a = await startIdp();
    idp.b = await startIdp({ account: 'bob' });
    idp.deadPort = await freePort();
  },
  http: ({ prefix }) => `
    authgate_oidc_provider a issuer=${idp.a.issuer} client_id=gate-a client_secret_file=${prefix}/a.secret
        algs=RS256,ES256;
    authgate_oidc_provider b issuer=${idp.b.issuer} client_id=gate-b client_secret_file=${prefix}/b.secret
        auth_method=client_secret_post claim_user=email;
    authgate_oidc_provider dead issuer=http://127.0.0.1:${idp.deadPort} client_id=x
        client_secret_file=${prefix}/a.secret;`,
  started: async (g) => {
    await idp.a.addClient(idpClient({ client_id: 'gate-a', client_secret: secretA,
      redirect_uris: [`${g.base}/_authgate/callback/a`] }));
    await idp.b.addClient(idpClient({ client_id: 'gate-b', client_secret: secretB,
      token_endpoint_auth_method: 'client_secret_post', redirect_uris: [`${g.base}/_authgate/callback/b`] }));
  },
});

const noSession = (res) => res.setCookies.filter((c) => /authgate_session=[^;]/.test(c)).length === 0;

// Runs a real flow up to the callback, makes the IdP's token endpoint answer once with
// `makeIdToken(nonce)` as the ID token, and fetches the callback.
async function callbackWith(makeIdToken) {
  const agent = new Agent();
  const first = await agent.fetch(`${gate.base}/_authgate/sso/a?rd=/app`);
  assert.equal(first.status, 302);
  const nonce = new URL(first.location).searchParams.get('nonce');
  const flow = await agent.follow(first.location, { stopAt: `${gate.base}/_authgate/callback/` });
  const idToken = await makeIdToken(nonce);
  await idp.a.addFault({ path: '/token', status: 200, contentType: 'application/json', times: 1,
    body: JSON.stringify({ access_token: 'opaque-at', token_type: 'Bearer', expires_in: 300, id_token: idToken }) });
  return agent.fetch(flow.location);
}

const claims = (nonce, extra = {}) => idp.a.idTokenClaims({ client: 'gate-a', nonce, ...extra });

test('control: a well-formed token through the same path is accepted', async () => {
  const res = await callbackWith((nonce) => idp.a.sign(claims(nonce)));
  assert.equal(res.status, 303);
  assert.ok(!noSession(res));
});

const refusals = [
  ['nonce mismatch', (n) => idp.a.sign(claims(`${n}x`)), /does not belong to this sign-in attempt/],
  ['missing nonce', (n) => idp.a.sign(claims(undefined)), /does not belong to this sign-in attempt|not valid/],
  ['unknown signing key', (n) => idp.a.signWithUnknownKey(claims(n)), /key this site does not know/],
  ['alg none', (n) => idp.a.unsigned(claims(n)), /signature algorithm|not valid/],
  ['HS256 signed with the RSA public key (PEM)', (n) => idp.a.hs256WithPublicKey(claims(n), { secret: 'pem' }), /signature algorithm/],
  ['HS256 signed with the RSA public key (JWK)', (n) => idp.a.hs256WithPublicKey(claims(n), { secret: 'jwk' }), /signature algorithm/],
  ['PS256 header with the RS256 key', (n) => idp.a.sign(claims(n), { alg: 'PS256' }), /signature algorithm/],
  ['expired', (n) => idp.a.sign(claims(n, { iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 600 })), /has expired/],
  ['wrong issuer', (n) => idp.a.sign(claims(n, { iss: 'https://evil.example' })), /expected identity provider/],
  ['wrong audience', (n) => idp.a.sign(claims(n, { aud: 'someone-else' })), /not issued for this site/],
  ['azp of another client', (n) => idp.a.sign(claims(n, { aud: ['gate-a', 'other'], azp: 'other' })), /not issued for this site/],
  ['tampered payload', async (n) => {
    const [h, , s] = (await idp.a.sign(claims(n))).split('.');
    const forged = Buffer.from(JSON.stringify(claims(n, { preferred_username: 'admin' }))).toString('base64url');
    return `${h}.${forged}.${s}`;
  }, /not valid/],
];

for (const [name, make, message] of refusals) {
  test(`refused at the callback: ${name}`, async () => {
    const res = await callbackWith(make);
    assert.equal(res.status, 401, `${name}: ${res.status}`);
    assert.match(res.body, message);
    assert.ok(noSession(res), `${name}: no session cookie`);
  });
}

test('JWKS key rotation at the IdP is picked up without a restart', async () => {
  const before = await new Agent().follow(`${gate.base}/_authgate/sso/a?rd=/app`);
  assert.equal(before.last.status, 200);
  const rotated = await idp.a.rotateKeys({ keepOld: false });
  assert.ok(rotated.removed.length > 0);
  await new Promise((r) => setTimeout(r, 1100));  // the gate re-fetches at most once a second
  const after = await new Agent().follow(`${gate.base}/_authgate/sso/a?rd=/app`);
  assert.equal(after.last.status, 200, after.last.body);
  assert.equal(JSON.parse(after.last.body).user, 'alice');
});

test('two providers at once, each with its own client and auth method', async () => {
  const a = await new Agent().follow(`${gate.base}/_authgate/sso/a?rd=/app`);
  const b = await new Agent().follow(`${gate.base}/_authgate/sso/b?rd=/app`);
  assert.equal(JSON.parse(a.last.body).user, 'alice');
  assert.equal(JSON.parse(b.last.body).user, 'bob@example.com');  // claim_user=email
  const events = await idp.b.events();
  const tokenCalls = events.filter((e) => e.type === 'token' && e.client_id === 'gate-b');
  assert.ok(tokenCalls.length > 0 && tokenCalls.every((e) => e.auth === 'client_secret_post'), JSON.stringify(tokenCalls));
});

test('an unreachable IdP gives a clear 502 while ungated locations keep answering', async () => {
  const t0 = Date.now();
  const res = await request(gate.base, '/_authgate/sso/dead?rd=/app');
  assert.equal(res.status, 502);
  assert.match(res.body, /could not be reached/);
  assert.ok(Date.now() - t0 < 6000);

  // A stalled IdP (SIGSTOP) during the code exchange: the callback waits for the timeout on
  // a thread, and the worker keeps serving others meanwhile.
  const agent = new Agent();
  const flow = await agent.follow(`${gate.base}/_authgate/sso/a?rd=/app`, { stopAt: `${gate.base}/_authgate/callback/` });
  await idp.a.pause();
  try {
    const pending = agent.fetch(flow.location);
    await new Promise((r) => setTimeout(r, 300));
    const t1 = Date.now();
    for (let i = 0; i < 5; i++) {
      const pub = await request(gate.base, '/public/ping');
      assert.equal(pub.status, 200);
    }
    assert.ok(Date.now() - t1 < 1000, `ungated answers took ${Date.now() - t1} ms`);
    const res2 = await pending;
    assert.equal(res2.status, 502);
    assert.ok(noSession(res2));
  } finally {
    await idp.a.resume();
  }
});
