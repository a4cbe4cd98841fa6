// Redis Sentinel (nginx or Apache: AUTHGATE_TEST_SERVER): the gate finds the master through the sentinels and follows it after a failover, its session cache's subscription too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makePrefix, removePrefix } from './harness/nginx.mjs';
import { startGate } from './harness/gate.mjs';
import { freePorts } from './harness/ports.mjs';
import { request, signIn, sleep } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';
import { Redis, Sentinel, replicaOf } from './harness/redis.mjs';

describe('redis sentinel', () => {
  const master = new Redis();
  let replica;
  const sentinels = [];
  const s = {};

  before(async () => {
    await master.start();
    replica = replicaOf(master);
    await replica.start();
    for (let i = 0; i < 3; i++) sentinels.push(await new Sentinel().start(master, 'gatemaster'));
    const [port, backend] = await freePorts(2);
    s.prefix = makePrefix('authgate-sentinel');
    s.gate = await startGate({ dir: s.prefix, port, backend, echo: true, directives: `
    authgate_redis sentinel:gatemaster prefix=t: command_timeout=300ms connect_timeout=300ms;
    authgate_redis_sentinels ${sentinels.map((x) => `127.0.0.1:${x.port}`).join(' ')};
    authgate_key_file ${s.prefix}/authgate.key;
    authgate_users_file ${s.prefix}/users;` });
    s.base = s.gate.base;
  });

  after(async () => {
    const bad = s.gate ? s.gate.badLogLines() : [];
    await s.gate?.stop();
    for (const x of sentinels) await x.stop();
    await replica?.stop();
    await master.stop();
    if (s.prefix) removePrefix(s.prefix);
    assert.deepEqual(bad, []);
  });

  const get = (session) => request(s.base, '/app', { headers: { Cookie: `authgate_session=${session}` } });

  it('uses the master the sentinels report', async () => {
    let session;
    for (let i = 0; i < 50 && !session; i++) {
      session = await signIn(s.base, 'alice', users.alice.password).catch(() => undefined);
      if (!session) await sleep(100);
    }
    assert.ok(session, 'signed in through the sentinel-discovered master');
    assert.equal((await get(session)).status, 200);
    assert.ok(master.cli('KEYS', 't:s:*').length > 0, 'the session is on the master');
    s.session = session;
  });

  it('keeps sessions valid after the master dies and a replica is promoted', async () => {
    // Make sure the replica has the session before the master goes.
    for (let i = 0; i < 100 && replica.cli('KEYS', 't:s:*') === ''; i++) await sleep(50);
    assert.notEqual(replica.cli('KEYS', 't:s:*'), '', 'replicated');

    let loading = true;
    const seen = [];
    const load = (async () => {
      while (loading) {
        seen.push((await get(s.session)).status);
        await sleep(20);
      }
    })();
    await sleep(200);
    await master.kill();
    const deadline = Date.now() + 15000;
    let promoted = false;
    while (Date.now() < deadline) {
      const [, port] = sentinels[0].master('gatemaster');
      if (Number(port) === replica.port) { promoted = true; break; }
      await sleep(100);
    }
    assert.ok(promoted, 'the sentinels promoted the replica');
    let ok = false;
    const t0 = Date.now();
    // On every process (Apache's pool retries one call at a time after its backoff): three
    // rounds in a row of 16 at once, so that no process is missed by chance.
    let rounds = 0;
    while (Date.now() - t0 < 5000) {
      const round = await Promise.all(Array.from({ length: 16 }, () => get(s.session)));
      rounds = round.every((r) => r.status === 200) ? rounds + 1 : 0;
      if (rounds === 3) { ok = true; break; }
      await sleep(50);
    }
    loading = false;
    await load;
    assert.ok(ok, 'the session works again on the new master');
    assert.deepEqual([...new Set(seen)].filter((x) => x !== 200 && x !== 503), [], 'only 200 or 503 meanwhile');
    const fresh = await signIn(s.base, 'bob', users.bob.password);
    assert.equal((await get(fresh)).status, 200, 'new sessions are written to the new master');
  });

  it('serves from the session cache again once subscribed to the new master', async () => {
    // Every process subscribes to the promoted master: a whole round of lookups without a GET.
    const gets = () => Number((replica.cli('INFO', 'commandstats').match(/cmdstat_get:calls=(\d+)/) || [0, 0])[1]);
    let cached = false;
    for (let i = 0; i < 60 && !cached; i++) {
      const before = gets();
      const res = (await Promise.all(Array.from({ length: 8 }, () => get(s.session)))).map((r) => r.status);
      // 503: Apache's pool still backing off from the failover (one call at a time retries).
      assert.deepEqual(res.filter((x) => x !== 200 && x !== 503), []);
      cached = gets() === before && res.every((x) => x === 200);
      if (!cached) await sleep(50);
    }
    assert.ok(cached, 'lookups still read the new master: no session cache after the failover');
  });
});
