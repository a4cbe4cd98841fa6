// The OIDC test harness against the real provider: code flow + PKCE, errors, key rotation, refresh, logout, forged tokens, Chromium sign-in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import * as jose from 'jose';
import { idpAccounts, startIdp, testApi } from './harness/idp.mjs';
import { Agent, parseForm } from './harness/agent.mjs';
import {
  authorizationRequest, authorize, callbackParams, clientCredentials, exchangeCode, refreshGrant, verifyJwt,
} from './harness/oidc_client.mjs';
import { launchBrowser } from './harness/browser.mjs';

// A stand-in relying party: callback and post-logout pages, and a back-channel logout receiver.
function startReceiver() {
  const logouts = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname.startsWith('/bc')) {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        logouts.push({ path: url.pathname, contentType: req.headers['content-type'], body: Object.fromEntries(new URLSearchParams(body)) });
        res.writeHead(200).end();
      });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!DOCTYPE html><title>rp</title><h1 id="landed">${url.pathname}</h1>`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const base = `http://127.0.0.1:${server.address().port}`;
    resolve({ base, logouts, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) });
  }));
}

const decodeHeader = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url'));

describe('IdP harness', () => {
  let rp;
  let idp;
  let basic;   // client_secret_basic, RS256, back-channel logout
  let post;    // client_secret_post, ES256
  const cleanups = [];

  before(async () => {
    rp = await startReceiver();
    idp = await startIdp({
      clients: [
        {
          client_id: 'rp-basic', client_secret: 'rp-basic-secret-0123456789abcdef0123',
          redirect_uris: [`${rp.base}/cb`], post_logout_redirect_uris: [`${rp.base}/out`],
          backchannel_logout_uri: `${rp.base}/bc/basic`, backchannel_logout_session_required: true,
        },
        {
          client_id: 'rp-post', client_secret: 'rp-post-secret-0123456789abcdef01234',
          token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: 'ES256',
          redirect_uris: [`${rp.base}/cb-post`],
        },
        {
          client_id: 'api-caller', client_secret: 'api-caller-secret-0123456789abcdef01',
          grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
        },
      ],
    });
    [basic, post] = [idp.client('rp-basic'), idp.client('rp-post')];
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await idp?.stop();
    await rp?.close();
    if (idp) assert.ok(idp.proc.exitCode !== null || idp.proc.signalCode, 'the IdP process is gone');
  });

  it('publishes a discovery document and a JWKS with the harness keys', async () => {
    const d = await idp.discovery();
    assert.equal(d.issuer, idp.issuer);
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const e of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint', 'userinfo_endpoint']) {
      assert.ok(d[e].startsWith(`${idp.issuer}/`), e);
    }
    assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(d.response_types_supported, ['code']);
    assert.deepEqual(d.id_token_signing_alg_values_supported.sort(), ['ES256', 'PS256', 'RS256']);
    for (const s of ['openid', 'email', 'profile', 'groups', 'offline_access']) assert.ok(d.scopes_supported.includes(s), s);
    for (const c of ['sub', 'email', 'email_verified', 'name', 'preferred_username', 'groups']) assert.ok(d.claims_supported.includes(c), c);
    assert.equal(d.backchannel_logout_supported, true);
    assert.equal(d.backchannel_logout_session_supported, true);
    const jwks = await (await fetch(d.jwks_uri)).json();
    assert.deepEqual(jwks.keys.map((k) => k.kid), idp.keys.map((k) => k.kid));
    assert.deepEqual(jwks.keys.map((k) => k.kty), ['RSA', 'EC']);
    assert.ok(jwks.keys.every((k) => k.d === undefined), 'no private parts published');
  });

  it('completes the code flow with PKCE; client_secret_basic; the ID token verifies', async () => {
    const agent = new Agent();
    const a = await authorize(idp, basic, agent);
    assert.deepEqual(a.hops.map((h) => h.status), a.hops.map(() => 303));
    assert.ok(a.hops.every((h) => h.url.startsWith(idp.issuer)), 'every hop before the callback is at the IdP');
    assert.equal(a.params.state, a.state);
    assert.equal(a.params.iss, idp.issuer);
    assert.ok(a.params.code);
    assert.ok(agent.cookie(idp.issuer, '_session'), 'the IdP session cookie is in the jar');

    const tok = await exchangeCode(idp, basic, { code: a.params.code, verifier: a.verifier });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.equal(tok.body.token_type, 'Bearer');
    assert.ok(tok.body.access_token && tok.body.refresh_token);
    const { payload, header } = await verifyJwt(idp, tok.body.id_token, { audience: 'rp-basic', nonce: a.nonce });
    assert.equal(header.alg, 'RS256');
    assert.equal(header.kid, idp.signingKey('RS256').kid);
    assert.deepEqual([payload.sub, payload.email, payload.email_verified, payload.name, payload.preferred_username, payload.groups],
      ['sub-alice', 'alice@example.com', true, 'Alice A', 'alice', ['admins', 'staff']]);
    assert.ok(payload.sid, 'sid for a client that requires back-channel sessions');
    assert.equal(payload.exp - payload.iat, 300);

    const me = await fetch(idp.url('/me'), { headers: { Authorization: `Bearer ${tok.body.access_token}` } });
    assert.equal(me.status, 200);
    assert.deepEqual(await me.json(), {
      sub: 'sub-alice', email: 'alice@example.com', email_verified: true, name: 'Alice A',
      preferred_username: 'alice', groups: ['admins', 'staff'],
    });

    const again = await exchangeCode(idp, basic, { code: a.params.code, verifier: a.verifier });
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant', 'a code is single use');
  });

  it('checks client authentication and the PKCE verifier at the token endpoint', async () => {
    await idp.events({ clear: true });
    const m = await authorize(idp, basic, new Agent());
    const otherMethod = await exchangeCode(idp, basic, { code: m.params.code, verifier: m.verifier }, { auth: 'client_secret_post' });
    assert.equal(otherMethod.status, 401);
    assert.equal(otherMethod.body.error, 'invalid_client');
    const p = await authorize(idp, post, new Agent());
    assert.equal((await exchangeCode(idp, post, { code: p.params.code, verifier: p.verifier })).status, 200);
    const tokens = (await idp.events()).filter((e) => e.type === 'token');
    assert.deepEqual(tokens.map((e) => [e.client_id, e.grant_type, e.auth, e.status]), [
      ['rp-basic', 'authorization_code', 'client_secret_post', 401],
      ['rp-post', 'authorization_code', 'client_secret_post', 200],
    ]);

    const a = await authorize(idp, basic, new Agent());
    const wrongSecret = await exchangeCode(idp, { ...basic, client_secret: 'not-the-secret' }, { code: a.params.code, verifier: a.verifier });
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body.error, 'invalid_client');
    const noAuth = await exchangeCode(idp, basic, { code: a.params.code, verifier: a.verifier }, { auth: 'none' });
    assert.equal(noAuth.status, 401);
    assert.equal(noAuth.body.error, 'invalid_client');
    const b = await authorize(idp, basic, new Agent());
    const badVerifier = await exchangeCode(idp, basic, { code: b.params.code, verifier: crypto.randomBytes(32).toString('base64url') });
    assert.equal(badVerifier.status, 400);
    assert.equal(badVerifier.body.error, 'invalid_grant');
    const noPkce = await authorize(idp, basic, new Agent(), { extra: { code_challenge: null, code_challenge_method: null } });
    assert.equal(noPkce.params.error, 'invalid_request');
    assert.match(noPkce.params.error_description, /requires PKCE/);
  });

  it('signs in the chosen account; client_secret_post; ES256 ID token', async () => {
    await idp.loginAs('bob');
    try {
      const a = await authorize(idp, post, new Agent());
      const tok = await exchangeCode(idp, post, { code: a.params.code, verifier: a.verifier });
      assert.equal(tok.status, 200, JSON.stringify(tok.body));
      const { payload, header } = await verifyJwt(idp, tok.body.id_token, { audience: 'rp-post', nonce: a.nonce });
      assert.equal(header.alg, 'ES256');
      assert.equal(header.kid, idp.signingKey('ES256').kid);
      assert.equal(payload.sub, 'sub-bob');
      assert.deepEqual(payload.groups, ['staff']);
    } finally {
      await idp.loginAs('alice');
    }
  });

  it('answers the next authorization with an OAuth error, even for a signed-in user', async () => {
    const agent = new Agent();
    await authorize(idp, basic, agent);  // now signed in at the IdP
    await idp.failNextAuthorization('access_denied');
    const denied = await authorize(idp, basic, agent);
    assert.equal(denied.params.error, 'access_denied');
    assert.equal(denied.params.state, denied.state);
    assert.equal(denied.params.code, undefined);
    const ok = await authorize(idp, basic, agent);
    assert.ok(ok.params.code, 'only the next authorization fails');
  });

  it('issues JWT access tokens with scopes for the test API', async () => {
    const cc = await clientCredentials(idp, idp.client('api-caller'), { scope: 'api:read', resource: testApi });
    assert.equal(cc.status, 200, JSON.stringify(cc.body));
    const { payload, header } = await verifyJwt(idp, cc.body.access_token, { audience: testApi });
    assert.equal(header.typ, 'at+jwt');
    assert.equal(payload.scope, 'api:read');
    assert.equal(payload.client_id, 'api-caller');

    const a = await authorize(idp, basic, new Agent(), { scope: 'openid api:read api:write', resource: testApi });
    const tok = await exchangeCode(idp, basic, { code: a.params.code, verifier: a.verifier, resource: testApi });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    const user = await verifyJwt(idp, tok.body.access_token, { audience: testApi });
    assert.equal(user.payload.sub, 'sub-alice');
    assert.equal(user.payload.scope, 'api:read api:write');
  });

  it('refreshes tokens and rotates the refresh token', async () => {
    const a = await authorize(idp, basic, new Agent());
    const first = await exchangeCode(idp, basic, { code: a.params.code, verifier: a.verifier });
    const second = await refreshGrant(idp, basic, first.body.refresh_token);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.notEqual(second.body.refresh_token, first.body.refresh_token);
    assert.notEqual(second.body.access_token, first.body.access_token);
    const { payload } = await verifyJwt(idp, second.body.id_token, { audience: 'rp-basic' });
    assert.equal(payload.sub, 'sub-alice');
    const reused = await refreshGrant(idp, basic, first.body.refresh_token);
    assert.equal(reused.status, 400);
    assert.equal(reused.body.error, 'invalid_grant', 'a rotated refresh token is spent');
  });

  it('rotates signing keys: new kid in the JWKS and on new tokens; old keys kept or dropped', async () => {
    const before = await authorize(idp, basic, new Agent());
    const oldToken = (await exchangeCode(idp, basic, { code: before.params.code, verifier: before.verifier })).body.id_token;
    const oldKid = decodeHeader(oldToken).kid;

    const kept = await idp.rotateKeys({ keepOld: true });
    let jwks = await (await fetch(idp.url('/jwks'))).json();
    assert.deepEqual(jwks.keys.map((k) => k.kid), kept.kids);
    assert.equal(jwks.keys.length, 4);
    assert.ok(kept.kids.includes(oldKid));
    const a = await authorize(idp, basic, new Agent());
    const newToken = (await exchangeCode(idp, basic, { code: a.params.code, verifier: a.verifier })).body.id_token;
    const newKid = decodeHeader(newToken).kid;
    assert.notEqual(newKid, oldKid);
    assert.equal(newKid, kept.current[0]);
    await verifyJwt(idp, newToken, { audience: 'rp-basic' });
    await verifyJwt(idp, oldToken, { audience: 'rp-basic' });  // old key still published

    const dropped = await idp.rotateKeys({ keepOld: false });
    jwks = await (await fetch(idp.url('/jwks'))).json();
    assert.deepEqual(jwks.keys.map((k) => k.kid), dropped.current);
    assert.ok(dropped.removed.includes(newKid) && dropped.removed.includes(oldKid));
    await assert.rejects(verifyJwt(idp, newToken, { audience: 'rp-basic' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('RP-initiated logout reaches post_logout_redirect_uri and posts a back-channel logout token', async () => {
    const agent = new Agent();
    const a = await authorize(idp, basic, agent);
    const idToken = (await exchangeCode(idp, basic, { code: a.params.code, verifier: a.verifier })).body.id_token;
    const { payload } = await verifyJwt(idp, idToken, { audience: 'rp-basic' });
    const mine = (await idp.sessions()).filter((s) => s.clients['rp-basic']?.sid === payload.sid);
    assert.equal(mine.length, 1);
    rp.logouts.length = 0;

    const q = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: `${rp.base}/out`, state: 'bye-1' });
    const confirm = await agent.follow(idp.url(`/session/end?${q}`));
    assert.equal(confirm.last.status, 200);
    assert.ok(parseForm(confirm.last.body).fields.xsrf, 'the IdP asks for confirmation with an xsrf field');
    const done = await agent.submitForm(confirm.last, {}, { stopAt: `${rp.base}/out` });
    assert.equal(done.location, `${rp.base}/out?state=bye-1`);

    assert.equal(rp.logouts.length, 1);
    assert.equal(rp.logouts[0].path, '/bc/basic');
    assert.match(rp.logouts[0].contentType, /application\/x-www-form-urlencoded/);
    const lt = await verifyJwt(idp, rp.logouts[0].body.logout_token, { audience: 'rp-basic' });
    assert.equal(lt.payload.sub, 'sub-alice');
    assert.equal(lt.payload.sid, payload.sid);
    assert.ok('http://schemas.openid.net/event/backchannel-logout' in lt.payload.events);
    assert.equal(lt.payload.nonce, undefined);
    assert.ok(!(await idp.sessions()).some((s) => s.id === mine[0].id), 'the IdP session is gone');
  });

  it('ends sessions from the harness: logout tokens go to the client, its grant is revoked', async () => {
    await idp.loginAs('dave');
    try {
      const a = await authorize(idp, basic, new Agent());
      const tok = await exchangeCode(idp, basic, { code: a.params.code, verifier: a.verifier });
      const sid = (await verifyJwt(idp, tok.body.id_token, { audience: 'rp-basic' })).payload.sid;
      rp.logouts.length = 0;
      await idp.events({ clear: true });
      const deliveries = await idp.endSessions({ sub: 'sub-dave' });
      assert.deepEqual(deliveries, [{ client_id: 'rp-basic', sub: 'sub-dave', sid, ok: true }]);
      assert.equal(rp.logouts.length, 1);
      const lt = await verifyJwt(idp, rp.logouts[0].body.logout_token, { audience: 'rp-basic' });
      assert.deepEqual([lt.payload.sub, lt.payload.sid], ['sub-dave', sid]);
      assert.ok((await idp.events()).some((e) => e.type === 'backchannel.success' && e.sid === sid));
      assert.equal((await idp.sessions()).filter((s) => s.sub === 'sub-dave').length, 0);
      const refreshed = await refreshGrant(idp, basic, tok.body.refresh_token);
      assert.equal(refreshed.status, 400, 'the refresh token died with the session');
    } finally {
      await idp.loginAs('alice');
    }
  });

  it('forges tokens: current key, unknown key, alg none, HS256 keyed with the RSA public key', async () => {
    const claims = idp.idTokenClaims({ client: 'rp-basic', nonce: 'n-1' });
    assert.equal(claims.iss, idp.issuer);
    assert.equal(claims.sub, idpAccounts.alice.sub);

    const good = await idp.sign(claims);
    assert.deepEqual(decodeHeader(good), { alg: 'RS256', typ: 'JWT', kid: idp.signingKey('RS256').kid });
    assert.equal((await verifyJwt(idp, good, { audience: 'rp-basic', nonce: 'n-1' })).payload.sub, 'sub-alice');
    const es = await idp.sign(claims, { alg: 'ES256' });
    assert.equal(decodeHeader(es).kid, idp.signingKey('ES256').kid);
    await verifyJwt(idp, es, { audience: 'rp-basic' });

    const unknown = await idp.signWithUnknownKey(claims);
    assert.equal(decodeHeader(unknown).alg, 'RS256');
    assert.ok(!idp.keys.some((k) => k.kid === decodeHeader(unknown).kid));
    await assert.rejects(verifyJwt(idp, unknown, { audience: 'rp-basic' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    const underKnownKid = await idp.signWithUnknownKey(claims, { kid: idp.signingKey('RS256').kid });
    await assert.rejects(verifyJwt(idp, underKnownKid, { audience: 'rp-basic' }), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });

    const none = idp.unsigned(claims);
    assert.deepEqual(decodeHeader(none), { alg: 'none', typ: 'JWT' });
    assert.ok(none.endsWith('.'));
    await assert.rejects(verifyJwt(idp, none, { audience: 'rp-basic' }));

    const hs = await idp.hs256WithPublicKey(claims);
    assert.equal(decodeHeader(hs).alg, 'HS256');
    const pem = crypto.createPublicKey({ key: idp.publicJwks().keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const [h, p, sig] = hs.split('.');
    assert.equal(crypto.createHmac('sha256', pem).update(`${h}.${p}`).digest('base64url'), sig, 'HMAC keyed with the PEM text');
    await assert.rejects(verifyJwt(idp, hs, { audience: 'rp-basic' }));
    await jose.jwtVerify(hs, new TextEncoder().encode(pem));  // what a confused verifier would accept
  });

  it('injects faults, pauses and restarts the IdP on the same port with the same keys', async () => {
    await idp.addFault({ path: '/jwks', status: 503, body: '{"error":"down"}', times: 1 });
    assert.equal((await fetch(idp.url('/jwks'))).status, 503);
    assert.equal((await fetch(idp.url('/jwks'))).status, 200, 'the fault was used up');

    idp.pause();
    await assert.rejects(fetch(idp.url('/jwks'), { signal: AbortSignal.timeout(300) }), { name: 'TimeoutError' });
    idp.resume();
    assert.equal((await fetch(idp.url('/jwks'))).status, 200);

    const kids = idp.keys.map((k) => k.kid);
    await idp.stop();
    await assert.rejects(fetch(idp.url('/jwks')), 'a stopped IdP refuses connections');
    await idp.start();
    const jwks = await (await fetch(idp.url('/jwks'))).json();
    assert.deepEqual(jwks.keys.map((k) => k.kid), kids);
    const a = await authorize(idp, basic, new Agent());
    assert.ok(a.params.code);
  });

  it('runs a second IdP at the same time, with its own keys and short lifetimes', async () => {
    const other = await startIdp({ clients: [{ client_id: 'rp-basic', client_secret: 'other-secret-0123456789abcdef01234567', redirect_uris: [`${rp.base}/cb2`] }], ttl: { IdToken: 2, AccessToken: 2 } });
    cleanups.push(() => other.stop());
    assert.notEqual(other.port, idp.port);
    const c = other.client('rp-basic');
    const a = await authorize(other, c, new Agent());
    const tok = await exchangeCode(other, c, { code: a.params.code, verifier: a.verifier });
    assert.equal(tok.status, 200);
    assert.equal(tok.body.expires_in, 2);
    const { payload } = await verifyJwt(other, tok.body.id_token, { audience: 'rp-basic' });
    assert.equal(payload.iss, other.issuer);
    assert.equal(payload.exp - payload.iat, 2);
    await assert.rejects(verifyJwt(idp, tok.body.id_token, { audience: 'rp-basic' }), 'the first IdP does not vouch for it');
    await other.stop();
    assert.ok(other.proc.signalCode || other.proc.exitCode !== null);
  });

  it('Chromium signs in through the login form and lands on the redirect_uri', async () => {
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    await idp.setInteraction('form');
    cleanups.push(() => idp.setInteraction('auto'));
    const req = authorizationRequest(idp, basic);
    const { page } = browser;

    await page.goto(req.url);
    assert.match(page.url(), new RegExp(`^${idp.issuer}/interaction/`));
    await page.fill('#username', 'alice');
    await page.fill('#password', 'wrong-password');
    const [rejected] = await Promise.all([page.waitForNavigation(), page.click('#submit')]);
    assert.equal(rejected.status(), 401);
    assert.equal(await page.textContent('#error'), 'Invalid username or password');

    await page.fill('#password', idpAccounts.alice.password);
    await Promise.all([page.waitForURL(`${rp.base}/cb?*`), page.click('#submit')]);
    assert.equal(await page.textContent('#landed'), '/cb');
    const params = callbackParams(page.url());
    assert.equal(params.state, req.state);
    const tok = await exchangeCode(idp, basic, { code: params.code, verifier: req.verifier });
    assert.equal(tok.status, 200);
    assert.equal((await verifyJwt(idp, tok.body.id_token, { audience: 'rp-basic', nonce: req.nonce })).payload.sub, 'sub-alice');
  });
});
