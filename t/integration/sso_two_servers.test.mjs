// SSO across two nginx servers on one Redis (session cache on): a session started through
// one is valid on the other, and a back-channel logout received by one ends it on every
// worker of both within 100 ms. Redis only: shared memory serves a single host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Nginx, echoServer, makePrefix, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { writeKeyFile } from './harness/fixtures.mjs';
import { Redis } from './harness/redis.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp } from './harness/idp.mjs';
import { sleep } from './harness/http.mjs';

const s = {};
const secret = 'two-servers-secret-0123456789abcdef';
const skip = process.env.AUTHGATE_TEST_STORE !== 'redis';

before(async () => {
  if (skip) return;
  s.redis = await new Redis().start();
  s.idp = await startIdp({ claimsInIdToken: false });
  const [a, b, backend] = await freePorts(3);
  s.prefix = makePrefix();
  writeKeyFile(path.join(s.prefix, 'authgate.key'));
  fs.writeFileSync(path.join(s.prefix, 'idp.secret'), secret);
  s.a = `http://127.0.0.1:${a}`;
  s.b = `http://127.0.0.1:${b}`;
  await s.idp.addClient(idpClient({
    client_id: 'gate', client_secret: secret,
    redirect_uris: [`${s.a}/_authgate/callback/corp`, `${s.b}/_authgate/callback/corp`],
    backchannel_logout_uri: `${s.a}/_authgate/backchannel-logout/corp`,
    backchannel_logout_session_required: true,
  }));
  const conf = (port, withBackend) => `
    authgate_redis 127.0.0.1:${s.redis.port} prefix=two: command_timeout=1s session_cache=1s;
    authgate_key_file ${s.prefix}/authgate.key;
    authgate_oidc_provider corp issuer=${s.idp.issuer} client_id=gate
        client_secret_file=${s.prefix}/idp.secret userinfo=on scopes=openid,email,profile,groups;
    server {
        listen 127.0.0.1:${port};
        authgate_public_origin http://127.0.0.1:${port};
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; proxy_pass http://127.0.0.1:${backend}; }
    }
${withBackend ? echoServer(backend) : ''}`;
  s.nginx = [];
  for (const [name, port] of [['a', a], ['b', b]]) {
    const dir = path.join(s.prefix, name);
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    fs.chmodSync(dir, 0o755);
    s.nginx.push(await new Nginx(dir, conf(port, name === 'a'), { port, workers: 2 }).start());
  }
});

after(async () => {
  const bad = (s.nginx ?? []).flatMap((n) => n.badLogLines());
  for (const n of s.nginx ?? []) await n.stop();
  if (s.idp) await s.idp.stop();
  if (s.redis) await s.redis.stop();
  if (s.prefix) removePrefix(s.prefix);
  assert.deepEqual(bad, []);
});

test('sign in through A (claims from userinfo), valid on B; back-channel logout at A ends it on B', { skip }, async () => {
  const agent = new Agent();  // one cookie jar for 127.0.0.1, as a browser has
  const done = await agent.follow(`${s.a}/_authgate/sso/corp?rd=/app`);
  assert.equal(done.last.status, 200);
  const who = JSON.parse(done.last.body);
  assert.equal(who.user, 'alice');  // preferred_username came from userinfo only
  assert.equal(who.groups, 'admins,staff');

  // B serves the same session, from Redis and then from its workers' caches.
  for (let i = 0; i < 12; i++) {
    const res = await agent.fetch(`${s.b}/app/${i}`);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).user, 'alice');
  }
  const deliveries = await s.idp.endSessions({ sub: 'sub-alice' });
  assert.deepEqual(deliveries.map((d) => d.ok), [true]);
  const since = Date.now();
  for (;;) {
    const res = await Promise.all(Array.from({ length: 8 }, (_, i) => agent.fetch(`${s.b}/app/x${i}`)));
    if (res.every((r) => r.status === 302)) break;
    assert.ok(Date.now() - since < 100, `B still allowed the session ${Date.now() - since} ms later`);
    await sleep(5);
  }
  assert.equal((await agent.fetch(`${s.a}/app`)).status, 302);
});
