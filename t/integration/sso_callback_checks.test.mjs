// Regressions (issue 8, items 13, 14, 15 and the IdP error pages): attacker text on the
// callback page without a flow, the RFC 9207 iss check, one ID-token size limit that the
// session survives, and "could not be reached" told apart from "answered with an error".
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpAccounts, idpClient, startIdp } from './harness/idp.mjs';
import { sleep } from './harness/http.mjs';

const idp = {};
after(async () => {
  if (idp.server) await idp.server.stop();
});

// ID tokens of 13.3 KB (13 KiB, under the 16 KiB limit) and 19.4 KB (over it), as measured.
const accounts = {
  ...idpAccounts,
  big: { sub: 'sub-big', password: 'x', email: 'big@example.com', email_verified: true, name: 'Big', groups: ['staff'], padding: 'p'.repeat(9400) },
  huge: { sub: 'sub-huge', password: 'x', email: 'huge@example.com', email_verified: true, name: 'Huge', groups: [], padding: 'p'.repeat(14000) },
};

const secret = 'checks-client-secret-0123456789abcdef';
const gate = gatedServer({
  // Access tokens of 2 s: a session is refreshed (its big tokens sealed again) a moment later.
  prepare: async () => { idp.server = await startIdp({ accounts, ttl: { AccessToken: 2 } }); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`),
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret refresh=on rp_logout=on timeout=1s;`,
  started: (g) => idp.server.addClient(idpClient({
    client_id: 'gate', client_secret: secret, redirect_uris: [`${g.base}/_authgate/callback/corp`],
    post_logout_redirect_uris: [`${g.base}/_authgate/logout`],
  })),
});

// Walks nginx -> IdP and stops before the callback is fetched.
async function toCallback(agent) {
  const flow = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`,
    { stopAt: `${gate.base}/_authgate/callback/` });
  assert.ok(flow.location?.startsWith(`${gate.base}/_authgate/callback/corp?`), `stopped at ${flow.location}`);
  return new URL(flow.location);
}

const sessionSet = (hop) => hop.setCookies.filter((c) => /authgate_session=[^;]/.test(c)).length;

test('item 13: IdP error text without a valid flow is not shown', async () => {
  const attack = 'Your account is locked. Call 555-0100 or visit evil.example';
  const q = `error=access_denied&error_description=${encodeURIComponent(attack)}`;
  for (const query of [q, `${q}&state=not-a-flow-of-this-browser`]) {
    const res = await new Agent().fetch(`${gate.base}/_authgate/callback/corp?${query}`);
    assert.equal(res.status, 401, query);
    assert.doesNotMatch(res.body, /locked|555-0100|evil\.example|access_denied/, query);
    assert.match(res.body, /identity provider/i);
  }
  // Another browser's flow does not unlock the text either.
  const victim = await toCallback(new Agent());
  const res = await new Agent().fetch(`${gate.base}/_authgate/callback/corp?${q}&state=${victim.searchParams.get('state')}`);
  assert.doesNotMatch(res.body, /locked|evil\.example/);
});

test('item 15: the callback iss must be the provider issuer (RFC 9207)', async () => {
  const meta = await idp.server.discovery();
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  const agent = new Agent();
  const cb = await toCallback(agent);
  assert.equal(cb.searchParams.get('iss'), idp.server.issuer);
  cb.searchParams.set('iss', 'https://evil.example');
  const mixed = await agent.fetch(cb.href);
  assert.equal(mixed.status, 401);
  assert.equal(sessionSet(mixed), 0);
});

test('item 15: a provider that advertises iss must send it', async () => {
  const agent = new Agent();
  const cb = await toCallback(agent);
  cb.searchParams.delete('iss');
  const res = await agent.fetch(cb.href);
  assert.equal(res.status, 401);
  assert.equal(sessionSet(res), 0);
});

test('item 15: the right iss signs in', async () => {
  const agent = new Agent();
  const cb = await toCallback(agent);
  const res = await agent.fetch(cb.href);
  assert.equal(res.status, 303);
  assert.equal(sessionSet(res), 1);
});

test('item 14: a 13 KB ID token signs in and its session keeps working', async () => {
  await idp.server.loginAs('big');
  try {
    const agent = new Agent();
    const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
    assert.equal(done.last.status, 200, `ended at ${done.last.url}: ${done.last.status} ${done.last.body.slice(0, 200)}`);
    const before = (await idp.server.events()).filter((e) => e.grant_type === 'refresh_token').length;
    for (let i = 0; i < 4; i += 1) {
      if (i === 2) await sleep(2200);  // the next request refreshes the session's tokens
      const res = await agent.fetch(`${gate.base}/app/next-${i}`);
      assert.equal(res.status, 200, `request ${i} after sign-in: ${res.status} ${res.headers['x-status']}`);
      assert.equal(JSON.parse(res.body).user, 'big');
    }
    const refreshes = (await idp.server.events()).filter((e) => e.grant_type === 'refresh_token');
    assert.equal(refreshes.length - before, 1, 'one refresh with the big tokens');
    assert.equal(refreshes.at(-1).status, 200);
  } finally {
    await idp.server.loginAs('alice');
  }
});

test('item 14: an ID token over the limit gets a clear error page', async () => {
  await idp.server.loginAs('huge');
  try {
    const agent = new Agent();
    const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
    assert.equal(done.last.status, 401);
    assert.match(done.last.body, /too large/i);
    assert.equal(sessionSet(done.last), 0);
  } finally {
    await idp.server.loginAs('alice');
  }
});

async function callbackWithTokenFault(fault) {
  const agent = new Agent();
  const cb = await toCallback(agent);
  await idp.server.addFault({ path: '/token', times: 1, ...fault });
  const started = Date.now();
  try {
    const res = await agent.fetch(cb.href);
    return { res, elapsed: Date.now() - started };
  } finally {
    await idp.server.clearFaults();
  }
}

test('an IdP that answers garbage or refuses the code "answered with an error"', async () => {
  for (const fault of [{ status: 200, body: 'not json' },
    { status: 400, body: '{"error":"invalid_grant","error_description":"nope"}' }]) {
    const { res } = await callbackWithTokenFault(fault);
    assert.equal(res.status, 401, JSON.stringify(fault));
    assert.match(res.body, /answered with an error/, JSON.stringify(fault));
    assert.doesNotMatch(res.body, /could not be reached/);
  }
});

test('an IdP that fails (5xx, dropped) or is too slow "could not be reached"', async () => {
  for (const fault of [{ status: 503, body: 'down' }, { drop: true }]) {
    const { res } = await callbackWithTokenFault(fault);
    assert.equal(res.status, 502, JSON.stringify(fault));
    assert.match(res.body, /could not be reached/, JSON.stringify(fault));
  }
  // timeout=1s on the provider: a 3 s token endpoint is given up after about a second.
  const { res, elapsed } = await callbackWithTokenFault({ delayMs: 3000 });
  assert.equal(res.status, 502);
  assert.match(res.body, /could not be reached/);
  assert.ok(elapsed < 2500, `gave up after ${elapsed} ms`);
});
