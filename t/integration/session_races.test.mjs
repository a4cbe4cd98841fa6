// Regression (issue 8, item 3): a logout while an SSO refresh waited for a slow IdP was
// undone when the refresh wrote the whole session back, reviving it outside every index
// (so even sign-out-everywhere missed it). Session writes are conditional now.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp } from './harness/idp.mjs';
import { request, sleep } from './harness/http.mjs';

const idp = {};
after(async () => { if (idp.server) await idp.server.stop(); });

const secret = 'r-client-secret-0123456789abcdef0123';
const gate = gatedServer({
  setup: (prefix) => fs.writeFileSync(`${prefix}/r.secret`, secret),
  prepare: async () => { idp.server = await startIdp({ ttl: { AccessToken: 2 } }); },
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/r.secret refresh=on;
    authgate_idle_timeout 10s;  # idle time is written back every second`,
  started: (g) => idp.server.addClient(idpClient({
    client_id: 'gate', client_secret: secret,
    redirect_uris: [`${g.base}/_authgate/callback/corp`],
  })),
});

async function signIn(account) {
  await idp.server.loginAs(account);
  const agent = new Agent();
  const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
  assert.equal(done.last.status, 200, done.last.body);
  return agent;
}

// The gate's logout (through its confirmation form where there is one).
async function logout(agent) {
  const page = await agent.fetch(`${gate.base}/_authgate/logout`);
  if (/name="csrf"/.test(page.body)) await agent.submitForm(page, {});
}

const withCookie = (cookie) => request(gate.base, '/app', { headers: { Cookie: `authgate_session=${cookie}` } });
const refreshCalls = async () => (await idp.server.events())
  .filter((e) => e.type === 'token' && e.grant_type === 'refresh_token');

test('a logout during a slow refresh stays a logout (record and indexes gone)', async () => {
  const agent = await signIn('bob');
  const cookie = agent.cookie(gate.base, 'authgate_session');
  assert.ok(cookie);
  await sleep(2200);  // the 2 s access token is due
  await idp.server.events({ clear: true });
  await idp.server.addFault({ path: '/token', delayMs: 3000, times: 1 });
  const slow = withCookie(cookie);  // refreshes, waiting 3 s for the IdP
  await sleep(700);
  await logout(agent);
  assert.equal((await withCookie(cookie)).status, 302, 'signed out while the refresh waits');
  const refreshed = await slow;
  assert.equal((await refreshCalls()).length, 1, 'the refresh reached the IdP');
  assert.equal(refreshed.status, 302, 'the refreshing request learns that the session ended');
  await sleep(200);
  assert.equal((await withCookie(cookie)).status, 302, 'the old cookie stays refused');
  if (gate.redis) {
    const keys = gate.redis.cli('KEYS', '*').split('\n').filter(Boolean);
    assert.deepEqual(keys.filter((k) => /(^|:)s:/.test(k)), [], 'no session record');
    assert.deepEqual(keys.filter((k) => /\{bob\}:sessions|:sid:|:sub:/.test(k)), [], 'no index member');
  }
});

test('a refresh that races with other requests keeps the rotated refresh token', async () => {
  const agent = await signIn('alice');
  const cookie = agent.cookie(gate.base, 'authgate_session');
  await sleep(2200);
  await idp.server.events({ clear: true });
  await idp.server.addFault({ path: '/token', delayMs: 2500, times: 1 });
  const slow = withCookie(cookie);
  // Requests meanwhile pass (the refresh holds its lock) and write their idle time back.
  for (let i = 0; i < 6; i++) {
    await sleep(350);
    assert.equal((await withCookie(cookie)).status, 200);
  }
  assert.equal((await slow).status, 200);
  // Due again: the rotated token is the one stored (a lost one would be refused).
  await sleep(2200);
  assert.equal((await withCookie(cookie)).status, 200);
  await sleep(100);
  const calls = await refreshCalls();
  assert.equal(calls.length, 2, JSON.stringify(calls));
  assert.ok(calls.every((c) => c.status === 200), JSON.stringify(calls));
  assert.equal((await withCookie(cookie)).status, 200);
});
