// The per-process Redis session cache (nginx workers, Apache children: AUTHGATE_TEST_SERVER): hits skip Redis, and a revocation on any server takes effect on every process of every server within 100 ms.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makePrefix, removePrefix } from './harness/nginx.mjs';
import { startGate } from './harness/gate.mjs';
import { freePorts } from './harness/ports.mjs';
import { logout, request, signIn, sleep } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';
import { Redis } from './harness/redis.mjs';

const kLimitMs = 100;

// Two gates (two worker processes each) on one Redis, with the session cache on.
async function twoGates(redis, prefix) {
  const [a, b, backend] = await freePorts(3);
  const directives = `
    authgate_redis 127.0.0.1:${redis.port} prefix=t: command_timeout=300ms session_cache=1s;
    authgate_key_file ${prefix}/authgate.key;
    authgate_users_file ${prefix}/users;`;
  const gates = [];
  for (const [name, port] of [['a', a], ['b', b]]) {
    const dir = path.join(prefix, name);
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    fs.chmodSync(dir, 0o755);
    try {
      gates.push(await startGate({ dir, port, backend, directives, echo: name === 'a', processes: 2 }));
    } catch (e) {
      for (const g of gates) await g.stop();
      throw e;
    }
  }
  return { a: gates[0], b: gates[1], baseA: gates[0].base, baseB: gates[1].base };
}

const get = (base, session, headers = {}) =>
  request(base, '/app', { headers: { Cookie: `authgate_session=${session}`, ...headers } });

// Requests spread over both processes (one connection each).
async function statuses(base, session, n = 8) {
  const res = await Promise.all(Array.from({ length: n }, () => get(base, session)));
  return res.map((r) => r.status);
}

// s:<base64url(sha256(id))>, the id being the cookie's first 32 bytes.
function storeKey(cookie) {
  const id = Buffer.from(cookie, 'base64url').subarray(0, 32);
  return `s:${crypto.createHash('sha256').update(id).digest('base64url')}`;
}

function redisGets(redis) {
  const m = redis.cli('INFO', 'commandstats').match(/cmdstat_get:calls=(\d+)/);
  return m ? Number(m[1]) : 0;
}

// Fills every process's cache: repeated until Redis sees no GET for a whole round.
async function warm(redis, base, session) {
  for (let i = 0; i < 40; i++) {
    const before = redisGets(redis);
    assert.deepEqual(new Set(await statuses(base, session, 16)), new Set([200]));
    if (redisGets(redis) === before) return;
    await sleep(20);
  }
  assert.fail('the cache never served a whole round');
}

// After an outage, until every process answers again: Apache's connection pool (one per
// child) lets one call at a time try Redis (the others fail at once) until one has
// worked; nginx reconnects on its own.
// Three rounds in a row of 16 at once, so that no process (and no pooled connection still
// in its back-off) is missed by chance.
async function reachable(base, session) {
  let rounds = 0;
  for (let i = 0; i < 150; i++) {
    rounds = (await statuses(base, session, 16)).every((x) => x === 200) ? rounds + 1 : 0;
    if (rounds === 3) return;
    await sleep(20);
  }
  assert.fail(`${base} did not reach Redis again`);
}

// Polls `base` until every process refuses the session; returns the ms it took.
async function refusedWithin(base, session, since) {
  for (;;) {
    const s = await statuses(base, session);
    if (s.every((x) => x === 302)) return Date.now() - since;
    assert.ok(Date.now() - since < 1000, `still allowed after 1 s: ${s}`);
  }
}

describe('redis session cache', () => {
  const redis = new Redis();
  const prefix = makePrefix('authgate-cache');
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

  it('serves repeated lookups without asking Redis', async () => {
    const session = await signIn(g.baseA, 'alice', users.alice.password);
    await warm(redis, g.baseA, session);
    const before = redisGets(redis);
    let sent = 0;
    for (let i = 0; i < 5; i++) {
      const s = await statuses(g.baseA, session);
      sent += s.length;
      assert.deepEqual(new Set(s), new Set([200]));
    }
    // A GET only where a process's beat came back late (a loaded machine, ASan) and it
    // asked Redis instead; without the cache every lookup is one.
    assert.ok(redisGets(redis) - before <= sent / 4, `${redisGets(redis) - before} GETs for ${sent} cached lookups`);
    const seen = JSON.parse((await get(g.baseA, session)).body);
    assert.equal(seen.user, 'alice', 'identity headers from the cached session');
  });

  it(`logout on B ends a session cached on every process of A within ${kLimitMs} ms`, async (t) => {
    const session = await signIn(g.baseA, 'alice', users.alice.password);
    await warm(redis, g.baseA, session);
    await warm(redis, g.baseB, session);
    const out = await logout(g.baseB, session);
    assert.equal(out.status, 200);
    const loggedOut = Date.now();
    const ms = await refusedWithin(g.baseA, session, loggedOut);
    t.diagnostic(`refused on every process of A ${ms} ms after the logout answered`);
    assert.ok(ms < kLimitMs, `took ${ms} ms`);
    // B's other processes hear of it through their own subscriptions: the same bound.
    const onB = await refusedWithin(g.baseB, session, loggedOut);
    assert.ok(onB < kLimitMs, `B took ${onB} ms`);
  });

  it(`revoke-all on B ends the user's sessions cached on A within ${kLimitMs} ms`, async (t) => {
    const s1 = await signIn(g.baseA, 'bob', users.bob.password);
    const s2 = await signIn(g.baseB, 'bob', users.bob.password);
    await warm(redis, g.baseA, s1);
    await warm(redis, g.baseB, s1);
    const out = await logout(g.baseB, s2, { everywhere: true });
    assert.equal(out.status, 200);
    const ms = await refusedWithin(g.baseA, s1, Date.now());
    t.diagnostic(`refused on every process of A ${ms} ms after the revocation answered`);
    assert.ok(ms < kLimitMs, `took ${ms} ms`);
  });

  it('a lost subscription turns the cache off at once, and it comes back after re-subscribing', async () => {
    const session = await signIn(g.baseA, 'alice', users.alice.password);
    const other = await signIn(g.baseA, 'alice', users.alice.password);
    await warm(redis, g.baseA, session);
    await warm(redis, g.baseA, other);
    const subscribers = g.a.processes + g.b.processes;
    const before = redisGets(redis);
    assert.ok(Number(redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')) >= subscribers, 'one subscriber per process');
    // Losing the subscription empties every cache at once, so even a revocation written
    // straight into Redis (not announced) right after counts. (Each process may subscribe
    // again within its first back-off; its cache then fills only from lookups made after
    // that, which read Redis, where the session is gone.)
    assert.equal(redis.cli('DEL', `t:${storeKey(session)}`), '1');
    assert.deepEqual(new Set(await statuses(g.baseA, session)), new Set([302]));
    assert.ok(redisGets(redis) > before, 'lookups reach Redis once the subscription is lost');
    assert.deepEqual(new Set(await statuses(g.baseA, other)), new Set([200]));
    // Re-subscribed within the backoff: cached again.
    await sleep(300);
    await warm(redis, g.baseA, other);
    const log = g.a.log();
    assert.match(log, /session cache subscription lost/);
    assert.match(log, /session cache subscription is back/);
  });

  it('stops serving from the cache when heartbeats stop coming back', async () => {
    const session = await signIn(g.baseA, 'alice', users.alice.password);
    await warm(redis, g.baseA, session);
    // Redis holds every PUBLISH (heartbeats and announcements alike): to the cache this is
    // a subscription that silently stopped delivering. Lookups then go to Redis: a worker
    // whose held heartbeat blocks its connection fails closed (503), the others read the
    // session from Redis (a GET each). A cache hit would be a 200 without a GET.
    redis.cli('CLIENT', 'PAUSE', '1000', 'WRITE');
    try {
      await sleep(kLimitMs);
      const gets = redisGets(redis);
      const s = await statuses(g.baseA, session);
      const fromRedis = s.filter((x) => x === 200).length;
      assert.ok(s.every((x) => x === 200 || x === 503), `${s}`);
      assert.ok(redisGets(redis) - gets >= fromRedis, `${fromRedis} answers 200 without a GET: served from the cache`);
    } finally {
      redis.cli('CLIENT', 'UNPAUSE');
    }
    await sleep(700);
    await warm(redis, g.baseA, session);
  });

  it('never serves a cached session while Redis is stalled or down', async () => {
    const session = await signIn(g.baseA, 'alice', users.alice.password);
    await warm(redis, g.baseA, session);
    redis.pause();
    try {
      await sleep(kLimitMs);
      const t0 = Date.now();
      assert.deepEqual(new Set(await statuses(g.baseA, session, 4)), new Set([503]));
      assert.ok(Date.now() - t0 >= 250, 'answered after the command timeout, not from the cache');
    } finally {
      redis.resume();
    }
    await sleep(700);
    await reachable(g.baseA, session);
    await warm(redis, g.baseA, session);
    await redis.kill();
    await sleep(20);
    assert.deepEqual(new Set(await statuses(g.baseA, session)), new Set([503]));
    await redis.start();
  });
});
