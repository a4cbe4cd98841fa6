// SSO sessions over time: refresh of the IdP's tokens (single flight under parallel
// requests, a refused refresh ends the session), RP-initiated logout at the IdP, and
// back-channel logout (verified, single-use logout tokens end exactly the sessions named).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp } from './harness/idp.mjs';
import { request } from './harness/http.mjs';

const idp = {};
after(async () => { if (idp.server) await idp.server.stop(); });

const secret = 's-client-secret-0123456789abcdef0123';
const gate = gatedServer({
  setup: (prefix) => fs.writeFileSync(`${prefix}/s.secret`, secret),
  prepare: async () => { idp.server = await startIdp({ ttl: { AccessToken: 2 } }); },
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/s.secret refresh=on rp_logout=on;`,
  started: (g) => idp.server.addClient(idpClient({
    client_id: 'gate', client_secret: secret,
    redirect_uris: [`${g.base}/_authgate/callback/corp`],
    post_logout_redirect_uris: [`${g.base}/_authgate/logout`],
    backchannel_logout_uri: `${g.base}/_authgate/backchannel-logout/corp`,
    backchannel_logout_session_required: true,
  })),
});

async function signIn(account = 'alice') {
  await idp.server.loginAs(account);
  const agent = new Agent();
  const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
  assert.equal(done.last.status, 200, done.last.body);
  return agent;
}
const app = (agent) => agent.fetch(`${gate.base}/app`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const refreshCalls = async () => (await idp.server.events())
  .filter((e) => e.type === 'token' && e.grant_type === 'refresh_token');

test('tokens are refreshed once when due, even for parallel requests', async () => {
  const agent = await signIn();
  await idp.server.events({ clear: true });
  await sleep(2200);  // the 2 s access token is due
  const results = await Promise.all([app(agent), app(agent), app(agent)]);
  for (const r of results) assert.equal(r.status, 200);
  const calls = await refreshCalls();
  assert.equal(calls.length, 1, JSON.stringify(calls));
  assert.equal(calls[0].status, 200);
  // Due again later: the rotated refresh token works (a reused one would be refused).
  await sleep(2200);
  assert.equal((await app(agent)).status, 200);
  await sleep(100);
  assert.equal((await app(agent)).status, 200);
  const again = await refreshCalls();
  assert.equal(again.length, 2, JSON.stringify(again));
  assert.ok(again.every((c) => c.status === 200));
});

test('a refused refresh ends the session cleanly', async () => {
  const agent = await signIn('dave');  // not carol: the users file has a disabled carol
  // The IdP refuses the next refresh as for a revoked grant.
  await idp.server.addFault({ path: '/token', status: 400, contentType: 'application/json', times: 1,
    body: JSON.stringify({ error: 'invalid_grant', error_description: 'grant revoked' }) });
  await sleep(2200);
  const res = await app(agent);
  assert.equal(res.status, 302);
  assert.match(res.location, /\/_authgate\/login/);
  assert.ok(res.setCookies.some((c) => /authgate_session=;/.test(c)));
  assert.equal((await app(agent)).status, 302);
});

test('RP-initiated logout ends the session here and at the IdP', async () => {
  const agent = await signIn('bob');
  const page = await agent.fetch(`${gate.base}/_authgate/logout`);  // a confirmation, ends nothing
  assert.equal(page.status, 200);
  assert.equal((await app(agent)).status, 200);
  const out = (await agent.submitForm(page, {}, { stopAt: idp.server.issuer })).last;
  assert.equal(out.status, 303);
  const es = new URL(out.location);
  assert.equal(`${es.origin}${es.pathname}`, `${idp.server.issuer}/session/end`);
  assert.ok(es.searchParams.get('id_token_hint').split('.').length === 3);
  assert.equal(es.searchParams.get('post_logout_redirect_uri'), `${gate.base}/_authgate/logout`);
  assert.equal(es.searchParams.get('client_id'), 'gate');
  assert.ok(out.setCookies.some((c) => /authgate_session=;/.test(c)));
  assert.equal((await app(agent)).status, 302);
  const confirm = await agent.follow(out.location);  // the IdP asks the user to confirm
  assert.equal(confirm.last.status, 200);
  const landed = await agent.submitForm(confirm.last, {});
  assert.equal(landed.last.status, 200);
  assert.ok(landed.last.url.startsWith(`${gate.base}/_authgate/logout`), landed.last.url);
  assert.match(landed.last.body, /signed out/i);
  assert.equal((await idp.server.sessions()).filter((x) => x.sub === 'sub-bob').length, 0);
});

test('back-channel logout ends exactly the sessions of that IdP session', async () => {
  const one = await signIn('alice');
  const two = await signIn('alice');  // another browser: another IdP session (sid)
  const mine = (await idp.server.sessions()).filter((x) => x.sub === 'sub-alice' && x.clients.gate);
  assert.ok(mine.length >= 2);
  const deliveries = await idp.server.endSessions({ id: mine[mine.length - 1].id });
  assert.deepEqual(deliveries.map((d) => d.ok), [true]);
  const statuses = [(await app(one)).status, (await app(two)).status].sort();
  assert.deepEqual(statuses, [200, 302]);
});

const logoutEvent = { 'http://schemas.openid.net/event/backchannel-logout': {} };
async function logoutToken(extra = {}) {
  const now = Math.floor(Date.now() / 1000);
  return idp.server.sign({ iss: idp.server.issuer, aud: 'gate', iat: now, exp: now + 120,
    jti: `jti-${Math.random()}`, sub: 'sub-dave', events: logoutEvent, ...extra }, { typ: 'logout+jwt' });
}
const post = (token) => request(gate.base, '/_authgate/backchannel-logout/corp', {
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: `logout_token=${encodeURIComponent(token)}`,
});

test('logout tokens are verified and work once', async () => {
  const agent = await signIn('dave');
  const bad = [
    await logoutToken({ nonce: 'n' }),
    await logoutToken({ events: {} }),
    await logoutToken({ jti: undefined }),
    await logoutToken({ aud: 'other' }),
    await idp.server.signWithUnknownKey({ iss: idp.server.issuer, aud: 'gate', iat: Math.floor(Date.now() / 1000), jti: 'x', sub: 'sub-dave', events: logoutEvent }),
    'not-a-token',
  ];
  for (const t of bad) {
    const res = await post(t);
    assert.equal(res.status, 400, t.slice(0, 40));
    assert.match(res.body, /"error":"invalid_request"/);
  }
  assert.equal((await app(agent)).status, 200);  // nothing ended by bad tokens
  const good = await logoutToken();
  assert.equal((await post(good)).status, 200);
  assert.equal((await app(agent)).status, 302);  // by sub: dave's sessions ended
  const replay = await post(good);
  assert.equal(replay.status, 400);
  assert.equal((await request(gate.base, '/_authgate/backchannel-logout/corp')).status, 405);
});
