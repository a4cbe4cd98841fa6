// Regression (issue 8, item 1): a flood of anonymous /sso/ requests with a long rd used to
// write one flow record each, evicting idle sessions from shm and filling a noeviction Redis;
// now they write nothing, so sessions survive and sign-in keeps working.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp } from './harness/idp.mjs';
import { testStore } from './harness/redis.mjs';

const idp = {};
after(async () => {
  if (idp.server) await idp.server.stop();
});

const secret = 'flood-client-secret-0123456789abcdef';
const gate = gatedServer({
  prepare: async () => { idp.server = await startIdp(); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`),
  // A small shm zone: a few hundred KB of anonymous records would evict every session.
  http: ({ prefix }) => `
    ${testStore === 'shm' ? 'authgate_shm_zone flood:256k;' : ''}
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret;`,
  redisArgs: ['--maxmemory', '30mb', '--maxmemory-policy', 'noeviction'],
  started: (g) => idp.server.addClient(idpClient({
    client_id: 'gate', client_secret: secret, redirect_uris: [`${g.base}/_authgate/callback/corp`],
  })),
});

async function ssoSignIn() {
  const agent = new Agent();
  const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
  assert.equal(done.last.status, 200, `sign-in ended at ${done.last.url} with ${done.last.status}`);
  return agent;
}

// `total` GETs over `concurrency` keep-alive connections; resolves the status counts.
function flood(pathname, total, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(gate.base);
  const counts = {};
  let sent = 0;
  const one = () => new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: pathname, agent }, (res) => {
      counts[res.statusCode] = (counts[res.statusCode] ?? 0) + 1;
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
  });
  const worker = async () => {
    while (sent < total) {
      sent += 1;
      await one();
    }
  };
  return Promise.all(Array.from({ length: concurrency }, worker))
    .then(() => { agent.destroy(); return counts; });
}

test('20,000 anonymous /sso/ hits with a 2 KB rd evict no session and do not fill the store', async (t) => {
  const sessions = [];
  for (let i = 0; i < 10; i += 1) sessions.push(await ssoSignIn());
  const keysBefore = gate.redis ? Number(gate.redis.cli('DBSIZE')) : undefined;

  const rd = `/app/${'a'.repeat(2000)}`;
  const started = Date.now();
  const counts = await flood(`/_authgate/sso/corp?rd=${rd}`, 20000, 32);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 120000, `the flood took ${elapsed} ms`);
  t.diagnostic(`20000 anonymous /sso/ requests in ${elapsed} ms`);
  assert.equal(counts[302], 20000, `statuses ${JSON.stringify(counts)}`);

  if (gate.redis) {
    const keysAfter = Number(gate.redis.cli('DBSIZE'));
    assert.ok(keysAfter <= keysBefore, `store keys grew from ${keysBefore} to ${keysAfter}`);
    t.diagnostic(`store keys: ${keysBefore} before, ${keysAfter} after`);
    assert.doesNotMatch(gate.redis.cli('KEYS', 'authgate:f:*'), /f:/);
  }
  for (const [i, agent] of sessions.entries()) {
    const res = await agent.fetch(`${gate.base}/app/after-flood`);
    assert.equal(res.status, 200, `session ${i} after the flood: ${res.status} ${res.headers['x-status']}`);
  }
  await ssoSignIn();
});

test('the flow cookie stays under 4 KB with three parallel flows and a 2 KB rd', async () => {
  const agent = new Agent();
  const rd = `/app/${'b'.repeat(2000)}`;
  for (const path of ['/app/one', '/app/two', rd, '/app/three', rd]) {
    const res = await agent.fetch(`${gate.base}/_authgate/sso/corp?rd=${encodeURIComponent(path)}`);
    assert.equal(res.status, 302);
    const flow = res.setCookies.find((c) => c.startsWith('authgate_flow='));
    assert.ok(flow && flow.length < 4000, `Set-Cookie of ${flow?.length} bytes`);
    // Sealed: the rd is not readable. ("/" is not in the base64url alphabet and 16 b's in a
    // row are vanishingly rare in ciphertext, so neither can match by chance.)
    assert.doesNotMatch(flow.split(';')[0], /\/app|b{16}/);
  }
  // Parallel tabs: the three newest short flows are all still usable.
  const tabs = [];
  for (const path of ['/app/a', '/app/b', '/app/c']) {
    const res = await agent.fetch(`${gate.base}/_authgate/sso/corp?rd=${encodeURIComponent(path)}`);
    tabs.push({ path, auth: res.location });
  }
  for (const { path, auth } of tabs.reverse()) {
    const done = await agent.follow(auth);
    const back = done.hops.find((h) => h.url.startsWith(`${gate.base}/_authgate/callback/corp`));
    assert.equal(back.status, 303, path);
    assert.equal(back.location, `${gate.base}${path}`);
  }
});
