// A full shared-memory zone evicts its least recently used sessions and says so once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';
import { testStore } from './harness/redis.mjs';

// nginx's zone or Apache's shared region (same directive, same eviction and log line).
const zoneSkip = testStore !== 'shm' && 'the zone is not used with Redis';
describe('shared-memory zone', { skip: zoneSkip }, () => {
  const s = gatedServer({ http: 'authgate_shm_zone small:32k;', workers: 1 });

  it('evicts the oldest sessions when full, logging it once', async () => {
    const sessions = [];
    for (let i = 0; i < 200 && !/is full/.test(s.nginx.log()); i++) {
      sessions.push(await signIn(s.base, 'bob', users.bob.password));
    }
    assert.match(s.nginx.log(), /shared memory zone "small" is full, evicting least recently used entries/);
    for (let i = 0; i < 20; i++) sessions.push(await signIn(s.base, 'bob', users.bob.password));

    const status = async (v) => (await request(s.base, '/app', { headers: { Cookie: `authgate_session=${v}` } })).status;
    assert.equal(await status(sessions[0]), 302, 'the oldest session was evicted');
    for (const v of sessions.slice(-10)) assert.equal(await status(v), 200, 'recent sessions are kept');
    const lines = s.nginx.log().split('\n').filter((l) => l.includes('is full'));
    assert.equal(lines.length, 1, 'logged once');
  });
});

describe('client gone during sign-in', () => {
  const s = gatedServer({ workers: 1 });

  it('survives clients that disconnect while the password is being checked', async () => {
    const net = await import('node:net');
    const { loginPage, form } = await import('./harness/http.mjs');
    const { csrf, csrfCookie } = await loginPage(s.base);
    const body = form({ username: 'alice', password: users.alice.password, csrf, rd: '/' });
    await Promise.all(Array.from({ length: 16 }, () => new Promise((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1', () => {
        sock.write(`POST /_authgate/login HTTP/1.1\r\nHost: x\r\nCookie: authgate_csrf=${csrfCookie}\r\n` +
          `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        setTimeout(() => { sock.destroy(); resolve(); }, 2);
      });
      sock.on('error', resolve);
    })));
    await new Promise((r) => setTimeout(r, 500));
    const session = await signIn(s.base, 'alice', users.alice.password);
    assert.equal((await request(s.base, '/app', { headers: { Cookie: `authgate_session=${session}` } })).status, 200);
  });
});
