// SSO through nginx with a real OpenID Provider: the code flow end to end, its single-use,
// browser-bound state, IdP errors, open-redirect attempts, and the user mapping.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp } from './harness/idp.mjs';
import { request } from './harness/http.mjs';

const idp = {};
after(async () => {
  if (idp.server) await idp.server.stop();
});

const secret = 'corp-client-secret-0123456789abcdef';
const gate = gatedServer({
  prepare: async () => { idp.server = await startIdp(); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`),
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret "label=Corp SSO" scopes=openid,email,profile,groups;`,
  started: (g) => idp.server.addClient(idpClient({
    client_id: 'gate', client_secret: secret, redirect_uris: [`${g.base}/_authgate/callback/corp`],
  })),
});

// Walks nginx -> IdP and stops before the callback is fetched: the callback URL.
async function toCallback(agent, rd = '/app') {
  const flow = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=${encodeURIComponent(rd)}`,
    { stopAt: `${gate.base}/_authgate/callback/` });
  assert.ok(flow.location?.startsWith(`${gate.base}/_authgate/callback/corp?`), `stopped at ${flow.location}`);
  return { flow, callback: flow.location };
}

test('the sign-in page offers the provider', async () => {
  const res = await request(gate.base, '/_authgate/login?rd=/app');
  assert.equal(res.status, 200);
  assert.match(res.body, /href="\/_authgate\/sso\/corp\?rd=(%2F|\/)app"[^>]*>Sign in with Corp SSO</);
});

test('full code flow: redirect with PKCE, state and nonce; callback; session; identity upstream', async () => {
  const agent = new Agent();
  const first = await agent.fetch(`${gate.base}/_authgate/sso/corp?rd=/app/page`);
  assert.equal(first.status, 302);
  const auth = new URL(first.location);
  assert.equal(auth.origin, idp.server.issuer);
  assert.equal(auth.searchParams.get('response_type'), 'code');
  assert.equal(auth.searchParams.get('client_id'), 'gate');
  assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
  assert.match(auth.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.ok(auth.searchParams.get('state').length >= 43);
  assert.ok(auth.searchParams.get('nonce').length >= 43);
  assert.equal(auth.searchParams.get('redirect_uri'), `${gate.base}/_authgate/callback/corp`);
  assert.match(first.setCookies.join('\n'), /authgate_flow=[^;]+;.*HttpOnly/i);

  const done = await agent.follow(first.location);
  const callbackHop = done.hops.find((h) => h.url.startsWith(`${gate.base}/_authgate/callback/corp`));
  assert.equal(callbackHop.status, 303);
  assert.equal(callbackHop.location, `${gate.base}/app/page`);
  assert.match(callbackHop.setCookies.join('\n'), /authgate_session=[^;]+; .*HttpOnly/);
  assert.equal(done.last.status, 200);
  const echoed = JSON.parse(done.last.body);
  assert.equal(echoed.user, 'alice');  // preferred_username
  assert.equal(echoed.email, 'alice@example.com');
  assert.equal(echoed.name, 'Alice A');
  assert.equal(echoed.groups, 'admins,staff');
  assert.doesNotMatch(echoed.cookie, /authgate_(session|flow)/);
});

test('a state works once: the same callback URL replayed is refused', async () => {
  const agent = new Agent();
  const { callback } = await toCallback(agent);
  const ok = await agent.fetch(callback);
  assert.equal(ok.status, 303);
  const again = await agent.fetch(callback);
  assert.equal(again.status, 400);
  assert.equal(again.setCookies.filter((c) => /authgate_session=[^;]/.test(c)).length, 0);
});

test('missing, unknown and tampered state are refused', async () => {
  const agent = new Agent();
  const { callback } = await toCallback(agent);
  const url = new URL(callback);
  const code = url.searchParams.get('code');
  for (const query of [`code=${code}`, `code=${code}&state=unknown-state-value`,
    `code=${code}&state=${url.searchParams.get('state')}x`]) {
    const res = await agent.fetch(`${gate.base}/_authgate/callback/corp?${query}`);
    assert.equal(res.status, 400, query);
    assert.match(res.body, /sign-in/i);
  }
});

test('the flow is bound to the browser that started it', async () => {
  const { callback } = await toCallback(new Agent());
  const other = new Agent();  // an attacker's browser, without the victim's flow cookie
  const res = await other.fetch(callback);
  assert.equal(res.status, 400);
  assert.equal(res.setCookies.filter((c) => /authgate_session=[^;]/.test(c)).length, 0);
});

test('a code replayed with another flow\'s state is refused by the IdP', async () => {
  const agent = new Agent();
  const a = await toCallback(agent);
  const b = await toCallback(agent);
  const codeA = new URL(a.callback).searchParams.get('code');
  const stateB = new URL(b.callback).searchParams.get('state');
  const res = await agent.fetch(`${gate.base}/_authgate/callback/corp?code=${codeA}&state=${stateB}`);
  assert.equal(res.status, 401);
  assert.match(res.body, /sign-in|identity provider/i);
  assert.equal(res.setCookies.filter((c) => /authgate_session=[^;]/.test(c)).length, 0);
});

test('an IdP error response is shown as a clear page', async () => {
  await idp.server.failNextAuthorization('access_denied', 'The user said <no>');
  const agent = new Agent();
  const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
  assert.equal(done.last.status, 401);
  assert.match(done.last.body, /did not sign you in \(access_denied\): The user said &lt;no&gt;/);
  assert.equal(done.last.setCookies.filter((c) => /authgate_session=[^;]/.test(c)).length, 0);
});

test('open-redirect attempts in rd end at a local path after the whole flow', async () => {
  for (const rd of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/%2F%2Fevil.example']) {
    const agent = new Agent();
    const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=${encodeURIComponent(rd)}`,
      { stopAt: `${gate.base}/app-never` });
    const back = done.hops.find((h) => h.url.startsWith(`${gate.base}/_authgate/callback/corp`));
    assert.equal(back.status, 303, rd);
    assert.ok(back.location.startsWith(`${gate.base}/`), `${rd} -> ${back.location}`);
    assert.equal(new URL(back.location).host, new URL(gate.base).host, rd);
  }
});

test('IdP-initiated login becomes a normal flow; a foreign target is refused', async () => {
  const agent = new Agent();
  const iss = encodeURIComponent(idp.server.issuer);
  const start = await agent.fetch(`${gate.base}/_authgate/sso/corp?iss=${iss}&target_link_uri=${encodeURIComponent(`${gate.base}/app/portal`)}`);
  assert.equal(start.status, 302);
  const done = await agent.follow(start.location);
  const back = done.hops.find((h) => h.url.startsWith(`${gate.base}/_authgate/callback/corp`));
  assert.equal(back.location, `${gate.base}/app/portal`);
  const foreign = await new Agent().fetch(`${gate.base}/_authgate/sso/corp?iss=${iss}&target_link_uri=https%3A%2F%2Fevil.example%2F`);
  assert.equal(foreign.status, 400);
  const wrongIss = await new Agent().fetch(`${gate.base}/_authgate/sso/corp?iss=https%3A%2F%2Fevil.example`);
  assert.equal(wrongIss.status, 401);
});

test('unknown provider names are 404', async () => {
  assert.equal((await request(gate.base, '/_authgate/sso/nope')).status, 404);
  assert.equal((await request(gate.base, '/_authgate/callback/nope?code=x&state=y')).status, 404);
});

test('health lists the providers with what this worker knows of them', async () => {
  const res = await request(gate.base, '/_authgate/health');
  assert.equal(res.status, 200);
  const h = JSON.parse(res.body);
  assert.equal(h.providers.length, 1);
  assert.equal(h.providers[0].name, 'corp');
  assert.equal(h.providers[0].issuer, idp.server.issuer);
  assert.ok(['ok', 'not_fetched'].includes(h.providers[0].discovery), h.providers[0].discovery);
  assert.doesNotMatch(res.body, /secret/i);
});

test('with Redis, the first SSO sign-in leaves a user record for administration', { skip: !gateUsesRedis() }, async () => {
  await new Agent().follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
  const fields = gate.redis.cli('HGETALL', 'authgate:u:{alice}').split('\n');
  const record = Object.fromEntries(fields.reduce((acc, v, i) => (i % 2 ? acc[acc.length - 1].push(v) : acc.push([v]), acc), []));
  assert.equal(record.source, 'sso:corp');
  assert.equal(record.email, 'alice@example.com');
  assert.equal(record.sub, 'sub-alice');
  assert.equal(record.groups, 'admins,staff');
  assert.equal(record.password, undefined);
});

function gateUsesRedis() { return process.env.AUTHGATE_TEST_STORE === 'redis'; }

test('a user disabled in the users file cannot come in through SSO either', async () => {
  await idp.server.loginAs('carol');  // the users file has carol, disabled
  try {
    const done = await new Agent().follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
    const back = done.hops.find((h) => h.url.startsWith(`${gate.base}/_authgate/callback/corp`));
    assert.equal(back.status, 403);
    assert.equal(back.setCookies.filter((c) => /authgate_session=[^;]/.test(c)).length, 0);
  } finally {
    await idp.server.loginAs('alice');
  }
});
