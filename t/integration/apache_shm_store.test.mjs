// Apache's embedded store (shared memory kept across restarts): sessions survive a graceful
// and a SIGHUP restart, also under load; a logout before one stays a logout after it; a
// changed zone size starts over (and says so); concurrent sign-ins in a small zone never
// mix users up.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Apache, startEcho } from './harness/apache.mjs';
import { testServer } from './harness/env.mjs';
import { makePrefix, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { logout, request, signIn } from './harness/http.mjs';
import { users, writeUsersFile } from './harness/fixtures.mjs';
import { testStore } from './harness/redis.mjs';

const skip = (testServer !== 'apache' && 'Apache only (AUTHGATE_TEST_SERVER=apache)')
  || (testStore !== 'shm' && 'the embedded store only');

function conf(prefix, port, backend, zone) {
  return `
Listen 127.0.0.1:${port}
AuthGateKeyFile ${prefix}/authgate.key
AuthGateUsersFile ${prefix}/users
AuthGateShmZone ${zone}
<VirtualHost 127.0.0.1:${port}>
    AuthGatePublicOrigin http://127.0.0.1:${port}
    <Location />
        AuthGate On
        ProxyPass http://127.0.0.1:${backend}/
    </Location>
    <Location /_authgate/>
        SetHandler authgate-endpoint
        ProxyPass !
    </Location>
</VirtualHost>
`;
}

function suite(zone, opts = {}) {
  const s = {};
  before(async () => {
    [s.port, s.backend] = await freePorts(2);
    s.prefix = makePrefix();
    if (opts.setup) opts.setup(s.prefix);
    s.base = `http://127.0.0.1:${s.port}`;
    s.echo = await startEcho(s.backend);
    s.apache = await new Apache(s.prefix, conf(s.prefix, s.port, s.backend, zone),
      { port: s.port, ...opts }).start();
    s.rewrite = (z) => fs.writeFileSync(s.apache.conf,
      fs.readFileSync(s.apache.conf, 'utf8').replace(/AuthGateShmZone \S+/, `AuthGateShmZone ${z}`));
  });
  after(async () => {
    const bad = s.apache ? s.apache.badLogLines() : [];
    if (s.apache) await s.apache.stop();
    if (s.echo) await s.echo.close();
    if (s.prefix) removePrefix(s.prefix);
    assert.deepEqual(bad, []);
  });
  return s;
}

// The user a session cookie is signed in as, or null when the gate sends it to sign in.
async function userOf(s, session) {
  const res = await request(s.base, '/x', { headers: { Cookie: `authgate_session=${session}` } });
  if (res.status === 302) return null;
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body).user;
}

describe('the embedded store across restarts', { skip }, () => {
  const s = suite('store:1m', { mpm: 'prefork', processes: 2 });

  it('keeps sessions through a graceful and a SIGHUP restart; a logout stays a logout', async () => {
    const alice = await signIn(s.base, 'alice', users.alice.password);
    const bob = await signIn(s.base, 'bob', users.bob.password);
    const gone = await signIn(s.base, 'bob', users.bob.password);
    assert.ok((await logout(s.base, gone)).status < 400);
    assert.equal(await userOf(s, gone), null);

    const before = s.apache.childPids();
    await s.apache.gracefulRestart();
    assert.equal(await userOf(s, alice), 'alice', 'after a graceful restart');
    assert.equal(await userOf(s, bob), 'bob');
    assert.equal(await userOf(s, gone), null, 'logged out before the restart');

    const late = await signIn(s.base, 'alice', users.alice.password);
    await s.apache.hupRestart();
    assert.ok(s.apache.childPids().every((p) => !before.includes(p)), 'new processes');
    assert.equal(await userOf(s, alice), 'alice', 'after a SIGHUP restart');
    assert.equal(await userOf(s, late), 'alice', 'made between the restarts');
    assert.equal(await userOf(s, gone), null);
    assert.ok((await logout(s.base, bob)).status < 400);
    await s.apache.gracefulRestart();
    assert.equal(await userOf(s, bob), null, 'logged out between the restarts');
    assert.equal(await userOf(s, alice), 'alice');
    assert.doesNotMatch(s.apache.log(), /changed .* its sessions dropped/);
  });

  it('keeps them through restarts under load (no process dies holding the lock)', async () => {
    const sessions = [];
    for (const name of ['alice', 'bob']) sessions.push([name, await signIn(s.base, name, users[name].password)]);
    let running = true;
    let answered = 0;
    const load = Array.from({ length: 8 }, async (_, i) => {
      const [name, session] = sessions[i % 2];
      while (running) {
        try {
          const user = await userOf(s, session);
          assert.equal(user, name, 'never another user, never signed out');
          answered += 1;
        } catch (e) {
          // A connection cut by the restart is fine; a wrong answer is not.
          if (e instanceof assert.AssertionError || !/^E[A-Z]+$/.test(e.code ?? '')) throw e;
        }
      }
    });
    for (let round = 0; round < 3; ++round) {
      await s.apache.hupRestart();
      await s.apache.gracefulRestart();
    }
    running = false;
    await Promise.all(load);
    assert.ok(answered >= 10, `${answered} lookups answered during the restarts`);
    for (const [name, session] of sessions) assert.equal(await userOf(s, session), name);
    assert.doesNotMatch(s.apache.log(), /died holding the lock/);
  });

  it('starts over, with a notice, when the zone size changes', async () => {
    const alice = await signIn(s.base, 'alice', users.alice.password);
    s.rewrite('store:2m');
    await s.apache.gracefulRestart();
    assert.match(s.apache.log(), /\[authgate:notice\].*shared memory zone "store" changed \(2097152 bytes, was 1048576\)/);
    assert.equal(await userOf(s, alice), null, 'the old zone is gone');
    const again = await signIn(s.base, 'alice', users.alice.password);
    await s.apache.gracefulRestart();
    assert.equal(await userOf(s, again), 'alice', 'the new zone is kept in turn');
  });
});

// Many users (the fixtures' two are not enough to tell a mix-up).
const crowd = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`user${i}`,
  { password: `pass-${i}-x`, email: `u${i}@example.com`, name: `U ${i}`, groups: ['staff'] }]));

describe('concurrent sign-ins in a small zone', { skip }, () => {
  const s = suite('tiny:32k', {
    mpm: 'prefork', processes: 4,
    setup: (prefix) => writeUsersFile(path.join(prefix, 'users'), crowd),
  });

  it('every session is its own user or none, never another one', async () => {
    const names = Object.keys(crowd);
    const signed = [];
    for (let wave = 0; wave < 6; ++wave) {
      const batch = await Promise.all(Array.from({ length: 16 }, async (_, i) => {
        const name = names[(wave * 16 + i) % names.length];
        return { name, session: await signIn(s.base, name, crowd[name].password) };
      }));
      signed.push(...batch);
      // Lookups of earlier sessions race the next wave's writes.
      await Promise.all(signed.slice(-24).map(async ({ name, session }) => {
        const user = await userOf(s, session);
        assert.ok(user === null || user === name, `${name}'s session answered as ${user}`);
      }));
    }
    let live = 0;
    for (const { name, session } of signed) {
      const user = await userOf(s, session);
      assert.ok(user === null || user === name, `${name}'s session answered as ${user}`);
      if (user !== null) live += 1;
    }
    assert.ok(live > 0 && live < signed.length, `${live} of ${signed.length} live: the zone evicted some`);
    assert.match(s.apache.log(), /shared memory zone "tiny" is full, evicting least recently used entries/);
    // The most recent sessions are kept.
    for (const { name, session } of signed.slice(-8)) assert.equal(await userOf(s, session), name);
  });
});
