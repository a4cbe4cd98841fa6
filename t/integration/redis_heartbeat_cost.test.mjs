// The session cache's liveness heartbeat costs Redis nothing while the server is idle and one beat per server (not per worker process: nginx workers, Apache children under AUTHGATE_TEST_SERVER=apache) under traffic; it used to be 50 PUBLISH/s per worker, idle or not.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makePrefix, removePrefix } from './harness/nginx.mjs';
import { startGate } from './harness/gate.mjs';
import { freePorts } from './harness/ports.mjs';
import { request, signIn, sleep } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';
import { Redis } from './harness/redis.mjs';

function calls(redis, command) {
  const m = redis.cli('INFO', 'commandstats').match(new RegExp(`cmdstat_${command}:calls=(\\d+)`));
  return m ? Number(m[1]) : 0;
}

function allCalls(redis) {
  let n = 0;
  for (const m of redis.cli('INFO', 'commandstats').matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
    if (m[1] !== 'info' && m[1] !== 'config|resetstat') n += Number(m[2]);
  }
  return n;
}

describe('redis session cache heartbeat cost', () => {
  const redis = new Redis();
  const prefix = makePrefix('authgate-beat');
  let nginx;
  let base;

  before(async () => {
    await redis.start();
    const [port, backend] = await freePorts(2);
    base = `http://127.0.0.1:${port}`;
    nginx = await startGate({ dir: prefix, port, backend, echo: true, processes: 4, directives: `
    authgate_redis 127.0.0.1:${redis.port} prefix=t: session_cache=1s;
    authgate_key_file ${prefix}/authgate.key;
    authgate_users_file ${prefix}/users;` });
  });
  after(async () => {
    const bad = nginx?.badLogLines() ?? [];
    await nginx?.stop();
    await redis.stop();
    removePrefix(prefix);
    assert.deepEqual(bad, []);
  });

  it('a server idle for longer than session_cache sends (almost) no command to Redis', async (t) => {
    const session = await signIn(base, 'alice', users.alice.password);
    for (let i = 0; i < 20; i++) assert.equal((await request(base, '/app', { headers: { Cookie: `authgate_session=${session}` } })).status, 200);
    await sleep(1300); // beats go on for session_cache (1 s) after the last lookup
    redis.cli('CONFIG', 'RESETSTAT');
    await sleep(2000);
    const publish = calls(redis, 'publish');
    const all = allCalls(redis);
    t.diagnostic(`idle for 2 s with 4 processes: ${publish} PUBLISH, ${all} commands in all`);
    assert.ok(all <= 2, `${all} commands while idle`);
  });

  it('under traffic the heartbeat is one per server, whatever the number of processes', async (t) => {
    const session = await signIn(base, 'alice', users.alice.password);
    redis.cli('CONFIG', 'RESETSTAT');
    const t0 = Date.now();
    let ok = 0;
    while (Date.now() - t0 < 1000) {
      const res = await Promise.all(Array.from({ length: 16 }, () =>
        request(base, '/app', { headers: { Cookie: `authgate_session=${session}` } })));
      ok += res.filter((r) => r.status === 200).length;
    }
    const seconds = (Date.now() - t0) / 1000;
    const rate = calls(redis, 'publish') / seconds;
    t.diagnostic(`${ok} requests in ${seconds.toFixed(1)} s over 4 processes: ${rate.toFixed(0)} PUBLISH/s`);
    assert.ok(ok > 0);
    assert.ok(rate <= 60, `${rate} PUBLISH/s`);
    assert.ok(calls(redis, 'get') < ok / 2, 'the cache served most lookups');
  });
});
