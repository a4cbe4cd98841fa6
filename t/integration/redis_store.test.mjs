// Redis as the shared store: several servers act as one, and Redis failures fail closed without blocking nginx.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Nginx, echoServer, makePrefix, nginxTest, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { logout, request, signIn, sleep } from './harness/http.mjs';
import { hashPassword, users } from './harness/fixtures.mjs';
import { Redis } from './harness/redis.mjs';
import path from 'node:path';

// Two gates sharing one key ring, one users file and one Redis.
async function twoGates(redis, prefix, extra = '') {
  const [a, b, backend] = await freePorts(3);
  const server = (port) => `
    server {
        listen 127.0.0.1:${port};
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; add_header X-Worker $pid always; proxy_pass http://127.0.0.1:${backend}; }
        location /open/ { proxy_pass http://127.0.0.1:${backend}; }
    }`;
  const http = (port, withBackend) => `
    authgate_redis 127.0.0.1:${redis.port} prefix=t: command_timeout=300ms ${extra};
    authgate_key_file ${prefix}/authgate.key;
    authgate_users_file ${prefix}/users;
${server(port)}
${withBackend ? echoServer(backend) : ''}`;
  const dirA = path.join(prefix, 'a');
  const dirB = path.join(prefix, 'b');
  for (const d of [dirA, dirB]) {
    fs.mkdirSync(path.join(d, 'tmp'), { recursive: true });
    fs.chmodSync(d, 0o755);
  }
  const ga = await new Nginx(dirA, http(a, true), { port: a, workers: 2 }).start();
  const gb = await new Nginx(dirB, http(b, false), { port: b, workers: 2 }).start()
    .catch(async (e) => { await ga.stop(); throw e; });
  return { prefix, a: ga, b: gb, baseA: `http://127.0.0.1:${a}`, baseB: `http://127.0.0.1:${b}` };
}

function workerFds(nginx) {
  return nginx.workerPids().map((pid) => fs.readdirSync(`/proc/${pid}/fd`).length).reduce((x, y) => x + y, 0);
}

describe('redis store', () => {
  const redis = new Redis();
  const prefix = makePrefix('authgate-redis');
  let g;

  before(async () => {
    await redis.start();
    g = await twoGates(redis, prefix);
  });
  after(async () => {
    const bad = [...(g?.a.badLogLines() ?? []), ...(g?.b.badLogLines() ?? [])];
    await g?.a.stop();
    await g?.b.stop();
    await redis.stop();
    removePrefix(prefix);
    assert.deepEqual(bad, []);
  });

  const get = (base, session, path = '/app', headers = {}) =>
    request(base, path, { headers: { Cookie: `authgate_session=${session}`, ...headers } });

  it('a session made on one server is valid on the other; logout on either ends it', async () => {
    const session = await signIn(g.baseA, 'alice', users.alice.password);
    const onB = await get(g.baseB, session);
    assert.equal(onB.status, 200);
    assert.equal(JSON.parse(onB.body).user, 'alice');
    const out = await logout(g.baseB, session);
    assert.equal(out.status, 200);
    assert.equal((await get(g.baseA, session)).status, 302);
  });

  it('indexes every session by user, with expiry, and unindexes it at logout', async () => {
    const s1 = await signIn(g.baseA, 'bob', users.bob.password);
    const s2 = await signIn(g.baseB, 'bob', users.bob.password);
    const index = 't:u:{bob}:sessions';
    const members = redis.cli('ZRANGE', index, '0', '-1').split('\n').filter(Boolean);
    assert.ok(members.length >= 2, `members: ${members}`);
    for (const m of members) assert.match(m, /^s:[A-Za-z0-9_-]{43}$/);
    assert.ok(Number(redis.cli('PTTL', index)) > 0, 'the index expires with its last session');
    await logout(g.baseA, s1);
    const after = redis.cli('ZRANGE', index, '0', '-1').split('\n').filter(Boolean);
    assert.equal(after.length, members.length - 1);
    // Revoking through the index (what the admin API will do) ends the rest everywhere.
    for (const m of after) redis.cli('DEL', `t:${m}`);
    assert.equal((await get(g.baseA, s2)).status, 302);
  });

  it('signs in run-time users kept in Redis beside the users file', async () => {
    redis.cli('HSET', 't:u:{erin}', 'password', hashPassword('erin-pass-1'), 'email', 'erin@example.com',
      'name', 'Erin E', 'groups', 'ops,staff', 'disabled', '0');
    const session = await signIn(g.baseA, 'erin', 'erin-pass-1');
    const res = await get(g.baseB, session);
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.deepEqual([seen.user, seen.email, seen.groups], ['erin', 'erin@example.com', 'ops,staff']);
    await assert.rejects(signIn(g.baseA, 'erin', 'wrong-pass'));
    redis.cli('HSET', 't:u:{erin}', 'disabled', '1');
    await assert.rejects(signIn(g.baseA, 'erin', 'erin-pass-1'));
    // File users are unaffected.
    assert.ok(await signIn(g.baseA, 'alice', users.alice.password));
  });

  it('keeps sessions compact in Redis (under 300 bytes each)', async () => {
    await signIn(g.baseA, 'bob', users.bob.password);
    const keys = redis.cli('KEYS', 't:s:*').split('\n').filter(Boolean);
    const undocumented = redis.cli('KEYS', 't:*').split('\n').filter(Boolean)
      .filter((k) => !/^t:(s:|u:\{)/.test(k));  // sessions, user indexes and records
    assert.deepEqual(undocumented, [], 'only the documented keys exist');
    assert.ok(keys.length >= 1);
    for (const k of keys) {
      assert.ok(Number(redis.cli('PTTL', k)) > 0, 'every session key has a TTL');
      const bytes = Number(redis.cli('MEMORY', 'USAGE', k));
      assert.ok(bytes > 0 && bytes <= 300, `${bytes} bytes for ${k}`);
    }
  });

  it('fails closed while Redis is down and recovers within a second, without leaking descriptors', async () => {
    const session = await signIn(g.baseA, 'alice', users.alice.password);
    assert.equal((await get(g.baseA, session)).status, 200);
    const fdsBefore = workerFds(g.a);
    const pidsBefore = g.a.workerPids();

    // Load from 16 concurrent clients while Redis dies underneath.
    let loading = true;
    const seen = new Set();
    const load = Array.from({ length: 16 }, async () => {
      while (loading) seen.add((await get(g.baseA, session)).status);
    });
    await sleep(200);
    await redis.kill();
    await sleep(300);
    loading = false;
    await Promise.all(load);
    assert.deepEqual([...seen].filter((x) => x !== 200 && x !== 503), [], 'only 200 (before) and 503 (after)');

    const statuses = new Set();
    for (let i = 0; i < 40; i++) {
      const [browser, api] = await Promise.all([get(g.baseA, session), get(g.baseA, session, '/x', { Accept: 'application/json' })]);
      statuses.add(browser.status);
      assert.notEqual(browser.status, 200, 'never allowed while the store is down');
      if (api.status === 503) assert.equal(JSON.parse(api.body).errors[0].code, 'store_unavailable');
    }
    assert.deepEqual([...statuses], [503]);
    const open = await request(g.baseA, '/open/x');
    assert.equal(open.status, 200, 'ungated locations keep working');

    await redis.start();
    // Each server reconnects on its own back-off (at most 0.5 s apart): both must be back.
    const t0 = Date.now();
    let back = false;
    while (Date.now() - t0 < 1000) {
      const [a, b] = await Promise.all([g.baseA, g.baseB].map((base) => request(base, '/_authgate/health')));
      if (a.status === 200 && b.status === 200) { back = true; break; }
      await sleep(25);
    }
    assert.ok(back, 'both gates use Redis again within 1 s');
    // A fresh Redis has no sessions: sign in again and use both servers.
    const again = await signIn(g.baseA, 'alice', users.alice.password);
    assert.equal((await get(g.baseB, again)).status, 200);
    assert.deepEqual(g.a.workerPids(), pidsBefore, 'no worker crashed');
    assert.ok(workerFds(g.a) <= fdsBefore, `fds: ${fdsBefore} before, ${workerFds(g.a)} after`);
    const down = g.a.log().split('\n').filter((l) => l.includes('unavailable ('));
    assert.ok(down.length >= 1 && down.length <= 2, `logged once per worker, got ${down.length}`);
  });

  it('fails closed after the command timeout when Redis stalls, while ungated locations answer fast', async () => {
    const session = await signIn(g.baseA, 'bob', users.bob.password);
    redis.pause();
    try {
      const t0 = Date.now();
      const gated = get(g.baseA, session).then((r) => ({ status: r.status, ms: Date.now() - t0 }));
      await sleep(50);
      const t1 = Date.now();
      const open = await request(g.baseA, '/open/y');
      const openMs = Date.now() - t1;
      const result = await gated;
      assert.equal(open.status, 200);
      assert.ok(openMs < 150, `ungated answered in ${openMs} ms`);
      assert.equal(result.status, 503);
      assert.ok(result.ms >= 250 && result.ms < 1500, `gated failed after ${result.ms} ms`);
    } finally {
      redis.resume();
    }
    await sleep(700);
    assert.equal((await request(g.baseA, '/_authgate/health')).status, 200);
  });
});

describe('redis configuration errors', () => {
  for (const [what, directive, expect] of [
    ['shm zone and redis together', 'authgate_shm_zone z:1m; authgate_redis 127.0.0.1:6379;', 'exclusive'],
    ['unresolvable host', 'authgate_redis no-such-host.invalid:6379;', 'cannot resolve'],
    ['missing password file', 'authgate_redis 127.0.0.1:6379 password_file=/nonexistent/pw;', 'password_file'],
  ]) {
    it(`rejects ${what}`, () => {
      const prefix = makePrefix('authgate-redisconf');
      try {
        const conf = path.join(prefix, 'nginx.conf');
        new Nginx(prefix, `${directive}
    authgate_key_file ${prefix}/authgate.key;
    server { listen 127.0.0.1:1; location / { authgate on; } }`, { port: 1 });
        const r = nginxTest(prefix, conf);
        assert.notEqual(r.status, 0);
        assert.ok(r.output.includes(expect), r.output);
      } finally {
        removePrefix(prefix);
      }
    });
  }
});
