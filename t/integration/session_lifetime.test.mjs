// Idle timeout and absolute lifetime with short values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { request, signIn, sleep } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

const get = (s, session) => request(s.base, '/app', { headers: { Cookie: `authgate_session=${session}`, Accept: 'application/json' } });

describe('idle timeout', () => {
  const s = gatedServer({ http: 'authgate_idle_timeout 2s; authgate_session_lifetime 1h;' });

  it('ends an unused session and keeps a used one', async () => {
    const idle = await signIn(s.base, 'alice', users.alice.password);
    const busy = await signIn(s.base, 'bob', users.bob.password);
    for (let i = 0; i < 6; i++) {  // 3 s of activity on `busy`, none on `idle`
      await sleep(500);
      assert.equal((await get(s, busy)).status, 200, `busy session at ${(i + 1) * 0.5}s`);
    }
    const res = await get(s, idle);
    assert.equal(res.status, 401);
    assert.match(JSON.parse(res.body).errors[0].code, /session_expired|no_session/);
  });
});

describe('absolute lifetime', () => {
  const s = gatedServer({ http: 'authgate_idle_timeout 1h; authgate_session_lifetime 3s;' });

  it('ends a session after its lifetime however active', async () => {
    const session = await signIn(s.base, 'alice', users.alice.password);
    const started = Date.now();
    while (Date.now() - started < 2500) {
      assert.equal((await get(s, session)).status, 200);
      await sleep(500);
    }
    await sleep(3200 - (Date.now() - started));
    assert.equal((await get(s, session)).status, 401);
  });

  it('sets the cookie lifetime to the session lifetime', async () => {
    const { loginPage, submitLogin } = await import('./harness/http.mjs');
    const { csrf, csrfCookie } = await loginPage(s.base);
    const res = await submitLogin(s.base, { username: 'bob', password: users.bob.password, csrf, csrfCookie });
    assert.ok(res.setCookies.some((c) => /^authgate_session=.*Max-Age=3(;|$)/.test(c)));
  });
});
