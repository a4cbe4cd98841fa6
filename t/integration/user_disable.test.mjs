// Regression (issue 8, item 7): disabling a user did not reach all of their sessions and
// tokens: SSO sessions and bearer tokens of users disabled in the users file, and sessions
// of Redis run-time users disabled or deleted in their record, kept working; users-file
// sessions kept the groups of their sign-in after a reload. Now every session and token
// ends within 30 s (at once through authgatectl and at a reload for the users file).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpAccounts, idpClient, startIdp, testApi } from './harness/idp.mjs';
import { request, signIn, sleep } from './harness/http.mjs';
import { hashPassword, users, writeUsersFile } from './harness/fixtures.mjs';
import { ctlPath } from './harness/env.mjs';
import { testStore } from './harness/redis.mjs';

const idp = {};
after(async () => { if (idp.server) await idp.server.stop(); });

const secret = 'u-client-secret-0123456789abcdef0123';
const gate = gatedServer({
  // hana: an SSO user no earlier test disabled (workers remember a user's status for up
  // to 30 s, so re-enabling dave in Redis is not seen at once; that is the documented bound).
  prepare: async () => {
    idp.server = await startIdp({ accounts: { ...idpAccounts, hana: {
      sub: 'sub-hana', password: 'hana-idp-pass', email: 'hana@example.com', email_verified: true,
      name: 'Hana H', groups: ['staff'] } } });
  },
  setup: (prefix) => fs.writeFileSync(`${prefix}/u.secret`, secret),
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/u.secret;`,
  locations: (backend) => `
        location /api/ {
            authgate_bearer corp audience=${testApi} scopes=api:read;
            proxy_pass http://127.0.0.1:${backend};
        }`,
  started: (g) => idp.server.addClient(idpClient({
    client_id: 'gate', client_secret: secret, redirect_uris: [`${g.base}/_authgate/callback/corp`],
  })),
});

const onRedis = testStore === 'redis';
const usersFile = () => path.join(gate.prefix, 'users');
const page = (cookie, p = '/app') => request(gate.base, p, { headers: { Cookie: `authgate_session=${cookie}` } });
const now = () => Math.floor(Date.now() / 1000);
const apiToken = (user) => idp.server.sign({
  iss: idp.server.issuer, aud: testApi, sub: `sub-${user}`, client_id: 'api-app',
  preferred_username: user, scope: 'api:read', iat: now(), exp: now() + 300,
}, { typ: 'at+jwt' });
const api = async (user) => request(gate.base, '/api/me', { headers: { Authorization: `Bearer ${await apiToken(user)}` } });

async function ssoSignIn(account) {
  await idp.server.loginAs(account);
  const agent = new Agent();
  const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
  assert.equal(done.last.status, 200, done.last.body);
  return agent.cookie(gate.base, 'authgate_session');
}

async function withUsers(list, body) {
  writeUsersFile(usersFile(), list);
  await gate.nginx.reload();
  try {
    await body();
  } finally {
    writeUsersFile(usersFile(), users);
    await gate.nginx.reload();
  }
}

const ctl = (...args) => execFileSync(ctlPath, [...args, `127.0.0.1:${gate.redis.port}`, 'prefix=authgate:'],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const runtimeUser = (name, password, extra = []) => gate.redis.cli('HSET', `authgate:u:{${name}}`,
  'password', hashPassword(password), 'email', `${name}@example.com`, 'groups', 'staff', 'disabled', '0', ...extra);
const sessionKeysOf = (name) => gate.redis.cli('ZRANGE', `authgate:u:{${name}}:sessions`, '0', '-1').split('\n').filter(Boolean);

test('an SSO session of a user disabled in the users file ends at the reload', async () => {
  const cookie = await ssoSignIn('bob');
  assert.equal((await page(cookie)).status, 200);
  await withUsers({ ...users, bob: { ...users.bob, disabled: true } }, async () => {
    assert.equal((await page(cookie)).status, 302);
  });
  assert.equal((await page(cookie)).status, 302, 'ended, not suspended');
});

test('a users-file session carries the groups of the file as reloaded', async () => {
  const cookie = await signIn(gate.base, 'alice', users.alice.password);
  assert.equal(JSON.parse((await page(cookie)).body).groups, 'admins,staff');
  await withUsers({ ...users, alice: { ...users.alice, groups: ['ops'], name: 'Alice Renamed' } }, async () => {
    const seen = JSON.parse((await page(cookie)).body);
    assert.equal(seen.groups, 'ops');
    assert.equal(seen.name, 'Alice Renamed');
  });
});

test('bearer tokens of a user disabled in the users file are refused', async () => {
  assert.equal((await api('bob')).status, 200);
  const carol = await api('carol');  // the users file has carol, disabled
  assert.equal(carol.status, 401);
  assert.match(carol.headers['www-authenticate'], /invalid_token/);
});

test('Redis run-time users disabled or deleted there lose sessions and tokens within 30 s',
  { skip: !onRedis && 'run-time users live in Redis' }, async (t) => {
    runtimeUser('erin', 'erin-pass-1');
    runtimeUser('frank', 'frank-pass-1');
    const erin = await signIn(gate.base, 'erin', 'erin-pass-1');
    const frank = await signIn(gate.base, 'frank', 'frank-pass-1');
    const dave = await ssoSignIn('dave');  // an SSO user with a just-in-time record
    for (const c of [erin, frank, dave]) assert.equal((await page(c)).status, 200);
    assert.equal((await api('erin')).status, 200);
    gate.redis.cli('HSET', 'authgate:u:{erin}', 'disabled', '1');
    gate.redis.cli('DEL', 'authgate:u:{frank}');
    gate.redis.cli('HSET', 'authgate:u:{dave}', 'disabled', '1');
    const start = Date.now();
    const pending = new Map([['erin', () => page(erin)], ['frank', () => page(frank)],
      ['dave', () => page(dave)], ['erin token', () => api('erin')]]);
    const endedAfter = {};
    while (pending.size && Date.now() - start < 40_000) {
      for (const [name, probe] of pending) {
        const res = await probe();
        if (res.status !== 200) {
          assert.ok([302, 401].includes(res.status), `${name}: ${res.status}`);
          endedAfter[name] = Date.now() - start;
          pending.delete(name);
        }
      }
      await sleep(500);
    }
    assert.deepEqual([...pending.keys()], [], `still let in after 40 s: ${[...pending.keys()]}`);
    t.diagnostic(`ended after (ms): ${JSON.stringify(endedAfter)}`);
    for (const [name, ms] of Object.entries(endedAfter)) assert.ok(ms <= 31_000, `${name} ended after ${ms} ms`);
    // A session ended for this reason stays ended when the user is enabled again.
    gate.redis.cli('HSET', 'authgate:u:{erin}', 'disabled', '0');
    gate.redis.cli('HSET', 'authgate:u:{dave}', 'disabled', '0');
    assert.equal((await page(erin)).status, 302);
    assert.equal((await page(dave)).status, 302);
  });

test('authgatectl disables, enables and deletes run-time users, ending their sessions at once',
  { skip: !onRedis && 'run-time users live in Redis' }, async () => {
    runtimeUser('gina', 'gina-pass-1');
    const phone = await signIn(gate.base, 'gina', 'gina-pass-1');
    const laptop = await signIn(gate.base, 'gina', 'gina-pass-1');
    assert.equal((await page(phone)).status, 200);
    assert.equal((await page(laptop)).status, 200);  // both cached by the workers now
    const out = ctl('user-disable', 'gina');
    assert.match(out, /user "gina" disabled/);
    assert.match(out, /^2 session\(s\) ended$/m);
    assert.equal((await page(phone)).status, 302);
    assert.equal((await page(laptop)).status, 302);
    assert.deepEqual(sessionKeysOf('gina'), []);
    await assert.rejects(signIn(gate.base, 'gina', 'gina-pass-1'));
    assert.match(ctl('user-enable', 'gina'), /user "gina" enabled/);
    const again = await signIn(gate.base, 'gina', 'gina-pass-1');
    assert.equal((await page(again)).status, 200);
    const del = ctl('user-delete', 'gina');
    assert.match(del, /user "gina" deleted/);
    assert.match(del, /^1 session\(s\) ended$/m);
    assert.equal((await page(again)).status, 302);
    assert.equal(gate.redis.cli('EXISTS', 'authgate:u:{gina}').trim(), '0');
    await assert.rejects(signIn(gate.base, 'gina', 'gina-pass-1'));
    // An SSO user's sessions end too; the IdP cannot bring a disabled user back.
    const hana = await ssoSignIn('hana');
    assert.equal((await page(hana)).status, 200);
    assert.match(ctl('user-disable', 'hana'), /^1 session\(s\) ended$/m);
    assert.equal((await page(hana)).status, 302);
    await idp.server.loginAs('hana');
    const refused = await new Agent().follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
    assert.notEqual(refused.last.status, 200);
    ctl('user-enable', 'hana');
  });

test('authgatectl refuses a bad Redis address and unknown users clearly', { skip: !onRedis && 'needs Redis' }, () => {
  assert.throws(() => execFileSync(ctlPath, ['user-disable', 'x', 'not a host'], { stdio: 'pipe' }),
    (e) => e.status === 2 && /redis: invalid address/.test(e.stderr.toString()));
  assert.throws(() => ctl('user-enable', 'nobody-here'),
    (e) => e.status === 1 && /no run-time user "nobody-here"/.test(e.stderr.toString()));
});
