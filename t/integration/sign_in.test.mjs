// Password sign-in through real nginx: success, failures, CSRF, rotation, identity upstream.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { cookieValue, loginPage, request, signIn, submitLogin } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

describe('sign-in', () => {
  const s = gatedServer();

  it('serves a sign-in form with a CSRF token and cookie', async () => {
    const { res, csrf, csrfCookie } = await loginPage(s.base, '/app');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /text\/html/);
    assert.match(res.body, /name="username"/);
    assert.match(res.body, /name="password"/);
    assert.match(res.body, /name="rd" value="\/app"/);
    assert.ok(csrf && csrfCookie);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(res.headers['content-security-policy'], /frame-ancestors 'none'/);
  });

  it('signs in and reaches the app with identity headers', async () => {
    const { csrf, csrfCookie } = await loginPage(s.base, '/app?x=1');
    const res = await submitLogin(s.base, { username: 'alice', password: users.alice.password, rd: '/app?x=1', csrf, csrfCookie });
    assert.equal(res.status, 303);
    assert.equal(new URL(res.headers.location, s.base).href, `${s.base}/app?x=1`);
    const set = res.setCookies.find((c) => c.startsWith('authgate_session='));
    assert.ok(set, 'session cookie set');
    assert.match(set, /; Path=\//);
    assert.match(set, /; HttpOnly/);
    assert.match(set, /; SameSite=Lax/);
    assert.match(set, /; Max-Age=\d+/);
    assert.doesNotMatch(set, /; Secure/);  // plain http
    const session = cookieValue(res.setCookies, 'authgate_session');
    assert.match(session, /^[A-Za-z0-9_-]{64}$/);

    const app = await request(s.base, '/app?x=1', { headers: { Cookie: `authgate_session=${session}` } });
    assert.equal(app.status, 200);
    assert.equal(app.headers['x-status'], 'allowed');
    const seen = JSON.parse(app.body);
    assert.deepEqual([seen.user, seen.email, seen.name, seen.groups],
      ['alice', 'alice@example.com', 'Alice A', 'admins,staff']);
    assert.equal(seen.uri, '/app?x=1');
  });

  for (const [what, username, password] of [
    ['wrong password', 'alice', 'not-her-password'],
    ['unknown user', 'mallory', 'alice-pass-1'],
    ['disabled user', 'carol', users.carol.password],
    ['empty fields', '', ''],
  ]) {
    it(`rejects a ${what} without a session`, async () => {
      const { csrf, csrfCookie } = await loginPage(s.base);
      const res = await submitLogin(s.base, { username, password, csrf, csrfCookie });
      assert.equal(res.status, 401);
      assert.match(res.body, /Invalid username or password/);
      assert.equal(cookieValue(res.setCookies, 'authgate_session'), undefined);
    });
  }

  it('rejects a missing, forged or foreign CSRF token', async () => {
    const { csrf, csrfCookie } = await loginPage(s.base);
    const other = await loginPage(s.base);
    for (const attempt of [
      { csrf: '', csrfCookie },
      { csrf: 'forged-token-forged-token', csrfCookie },
      { csrf, csrfCookie: undefined },
      { csrf: other.csrf, csrfCookie },
    ]) {
      const res = await submitLogin(s.base, { username: 'alice', password: users.alice.password, ...attempt });
      assert.equal(res.status, 403);
      assert.equal(cookieValue(res.setCookies, 'authgate_session'), undefined);
    }
  });

  it('rotates the session id at sign-in and ends the previous session', async () => {
    const first = await signIn(s.base, 'bob', users.bob.password);
    const second = await signIn(s.base, 'alice', users.alice.password, { cookies: [`authgate_session=${first}`] });
    assert.notEqual(first, second);
    const old = await request(s.base, '/app', { headers: { Cookie: `authgate_session=${first}` } });
    assert.equal(old.status, 302);
    const cur = await request(s.base, '/app', { headers: { Cookie: `authgate_session=${second}` } });
    assert.equal(JSON.parse(cur.body).user, 'alice');
  });

  it('rejects oversized and malformed form bodies cleanly', async () => {
    const big = await request(s.base, '/_authgate/login', {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a='.padEnd(40000, 'x'),
    });
    assert.equal(big.status, 413);
    const { csrf, csrfCookie } = await loginPage(s.base);
    const bad = await request(s.base, '/_authgate/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `authgate_csrf=${csrfCookie}` },
      body: `username=%zz&csrf=${csrf}`,
    });
    assert.equal(bad.status, 400);
  });

  it('answers unknown endpoints with 404 and wrong methods with 405', async () => {
    assert.equal((await request(s.base, '/_authgate/nothing')).status, 404);
    const put = await request(s.base, '/_authgate/login', { method: 'PUT', body: '' });
    assert.equal(put.status, 405);
    assert.match(put.headers.allow, /POST/);
  });
});
