// Regression (issue 8, item 8): the shared-memory index of a user's sessions kept only
// 4,096 members and silently forgot the oldest, so a session could escape
// sign-out-everywhere. Sessions per user are capped (authgate_max_sessions_per_user):
// a sign-in beyond the cap ends the oldest sessions themselves, on both stores.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { logout, request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

describe('sessions per user', () => {
  const s = gatedServer({ http: 'authgate_max_sessions_per_user 3;' });
  const page = (cookie) => request(s.base, '/app', { headers: { Cookie: `authgate_session=${cookie}` } });

  it('a sign-in beyond the cap ends the oldest sessions; sign-out-everywhere ends the rest', async () => {
    const bob = await signIn(s.base, 'bob', users.bob.password);
    const alice = [];
    for (let i = 0; i < 5; i++) alice.push(await signIn(s.base, 'alice', users.alice.password));
    const statuses = [];
    for (const c of alice) statuses.push((await page(c)).status);
    assert.deepEqual(statuses, [302, 302, 200, 200, 200], 'the two oldest ended, the newest three live');
    if (s.redis) {
      assert.equal(Number(s.redis.cli('ZCARD', 'authgate:u:{alice}:sessions')), 3);
      const records = s.redis.cli('KEYS', 'authgate:s:*').split('\n').filter(Boolean);
      assert.equal(records.length, 4, 'three of alice, one of bob');
    }
    const out = await logout(s.base, alice[4], { everywhere: true });
    assert.equal(out.status, 200);
    for (const c of alice) assert.equal((await page(c)).status, 302);
    assert.equal((await page(bob)).status, 200, 'other users keep theirs');
    assert.match(s.nginx.log(), /user "alice" signed out everywhere \(3 sessions\)/);
    if (s.redis) {
      assert.equal(Number(s.redis.cli('EXISTS', 'authgate:u:{alice}:sessions')), 0);
      assert.equal(s.redis.cli('KEYS', 'authgate:s:*').split('\n').filter(Boolean).length, 1);
    }
  });
});

describe('sessions per user, default cap', () => {
  const s = gatedServer({});
  const page = (cookie) => request(s.base, '/app', { headers: { Cookie: `authgate_session=${cookie}` } });

  it('the 101st sign-in ends the first session; sign-out-everywhere reaches all 100 others', async () => {
    const sessions = [];
    for (let i = 0; i < 101; i++) sessions.push(await signIn(s.base, 'bob', users.bob.password));
    assert.equal((await page(sessions[0])).status, 302, 'the oldest ended');
    assert.equal((await page(sessions[1])).status, 200);
    assert.equal((await page(sessions[100])).status, 200);
    const out = await logout(s.base, sessions[100], { everywhere: true });
    assert.equal(out.status, 200);
    const ended = Number(/user "bob" signed out everywhere \((\d+) sessions\)/.exec(s.nginx.log())?.[1]);
    assert.equal(ended, 100);
    for (const c of sessions.slice(1, 100)) assert.equal((await page(c)).status, 302);
  });
});
