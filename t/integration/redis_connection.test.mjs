// Redis connection settings: unix socket, db, ACL user + password file, and a wrong password failing closed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Nginx, echoServer, makePrefix, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { logout, request, signIn, sleep } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';
import { Redis } from './harness/redis.mjs';

async function gate(prefix, redisDirective) {
  const [port, backend] = await freePorts(2);
  const nginx = await new Nginx(prefix, `
    ${redisDirective}
    authgate_key_file ${prefix}/authgate.key;
    authgate_users_file ${prefix}/users;
    server {
        listen 127.0.0.1:${port};
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; proxy_pass http://127.0.0.1:${backend}; }
    }
${echoServer(backend)}`, { port, workers: 1 }).start();
  return { nginx, base: `http://127.0.0.1:${port}` };
}

describe('redis connection settings', () => {
  const redis = new Redis();
  const prefix = makePrefix('authgate-redisconn');
  const socket = path.join(prefix, 'redis.sock');
  const gates = [];

  before(async () => {
    redis.extraArgs = ['--unixsocket', socket, '--unixsocketperm', '777',
      '--requirepass', 'default-secret'];
    await redis.start();
    redis.cli('-a', 'default-secret', 'ACL', 'SETUSER', 'gate', 'on', '>gate-secret', '~*', '+@all');
    fs.writeFileSync(path.join(prefix, 'gate.pw'), 'gate-secret\n', { mode: 0o600 });
    fs.writeFileSync(path.join(prefix, 'wrong.pw'), 'not-the-password\n', { mode: 0o600 });
  });
  after(async () => {
    const bad = gates.flatMap((g) => g.nginx.badLogLines());
    for (const g of gates) await g.nginx.stop();
    await redis.stop();
    removePrefix(prefix);
    assert.deepEqual(bad, []);
  });

  it('signs in over a unix socket with an ACL user, in the configured db', async () => {
    const dir = path.join(prefix, 'a');
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    fs.chmodSync(dir, 0o755);
    for (const f of ['authgate.key', 'users']) fs.copyFileSync(path.join(prefix, f), path.join(dir, f));
    const g = await gate(dir, `authgate_redis unix:${socket} db=3 user=gate password_file=${prefix}/gate.pw prefix=c:;`);
    gates.push(g);
    const session = await signIn(g.base, 'alice', users.alice.password);
    const res = await request(g.base, '/app', { headers: { Cookie: `authgate_session=${session}` } });
    assert.equal(res.status, 200);
    const inDb3 = redis.cli('-a', 'default-secret', '-n', '3', 'KEYS', 'c:s:*');
    const inDb0 = redis.cli('-a', 'default-secret', '-n', '0', 'KEYS', 'c:s:*');
    assert.notEqual(inDb3, '', 'the session is in db 3');
    assert.equal(inDb0, '', 'and not in db 0');
    // This ACL user has no channel permission: sessions work, without the session cache,
    // and the log says how to fix it.
    const out = await logout(g.base, session);
    assert.equal(out.status, 200);
    assert.equal((await request(g.base, '/app', { headers: { Cookie: `authgate_session=${session}` } })).status, 302);
    const log = g.nginx.log();
    assert.match(log, /refused PUBLISH on "c:invalidate".*grant the ACL user &c:invalidate\*/);
    assert.match(log, /session cache subscription lost/);
  });

  it('fails closed when Redis wants a password the gate was not given', async () => {
    const dir = path.join(prefix, 'c');
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    fs.chmodSync(dir, 0o755);
    for (const f of ['authgate.key', 'users']) fs.copyFileSync(path.join(prefix, f), path.join(dir, f));
    const g = await gate(dir, `authgate_redis 127.0.0.1:${redis.port};`);
    gates.push(g);
    for (let i = 0; i < 5; i++) {
      assert.equal((await request(g.base, '/_authgate/health')).status, 503);
      await sleep(30);
    }
    const refused = g.nginx.log().split('\n').filter((l) => /refused the connection: NOAUTH/.test(l));
    assert.equal(refused.length, 1);
  });

  it('fails closed, and says why once, when Redis rejects the password', async () => {
    const dir = path.join(prefix, 'b');
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    fs.chmodSync(dir, 0o755);
    for (const f of ['authgate.key', 'users']) fs.copyFileSync(path.join(prefix, f), path.join(dir, f));
    const g = await gate(dir, `authgate_redis 127.0.0.1:${redis.port} user=gate password_file=${prefix}/wrong.pw;`);
    gates.push(g);
    const statuses = new Set();
    for (let i = 0; i < 10; i++) {
      statuses.add((await request(g.base, '/app', { headers: { Cookie: 'authgate_session=x', Accept: 'application/json' } })).status);
      const health = await request(g.base, '/_authgate/health');
      statuses.add(health.status);
      await sleep(30);
    }
    assert.ok(!statuses.has(200), `never allowed: ${[...statuses]}`);
    assert.ok(statuses.has(503));
    const rejected = g.nginx.log().split('\n').filter((l) => /authgate: redis 127\.0\.0\.1:\d+ rejected the login/.test(l));
    assert.equal(rejected.length, 1, 'logged once, not at every reconnect');
    assert.doesNotMatch(g.nginx.log(), /not-the-password/, 'the password is never logged');
  });
});
