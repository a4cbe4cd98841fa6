// Sign-out ends the session on the server, not only in the browser, and only when this
// site's confirmation form asked for it (regression, issue 8: a cross-site GET or a
// tokenless POST everywhere=1 used to end sessions).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { form, logout, logoutPage, request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

describe('logout', () => {
  const s = gatedServer();
  const app = (session) => request(s.base, '/app', { headers: { Cookie: `authgate_session=${session}` } });
  const post = (session, fields) => request(s.base, '/_authgate/logout', {
    method: 'POST',
    headers: { Cookie: `authgate_session=${session}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form(fields),
  });

  it('GET with a session shows a confirmation form and ends nothing', async () => {
    const session = await signIn(s.base, 'alice', users.alice.password);
    const { res, csrf } = await logoutPage(s.base, session, { rd: '/bye?x=1' });
    assert.equal(res.status, 200);
    assert.match(res.body, /<form[^>]+method="post"[^>]+action="\/_authgate\/logout"/);
    assert.ok(csrf && csrf.length >= 16, 'the form carries the session\'s CSRF token');
    assert.match(res.body, /name="rd" value="\/bye\?x=1"/);
    assert.match(res.body, /name="everywhere" value="1"/);
    assert.ok(!res.setCookies.some((c) => /^authgate_session=/.test(c)), 'the cookie is kept');
    assert.equal((await app(session)).status, 200, 'the session is still valid');
    // A cross-site top-level navigation is a GET too, with everywhere=1 as well.
    const other = await signIn(s.base, 'alice', users.alice.password);
    await request(s.base, '/_authgate/logout?everywhere=1', {
      headers: { Cookie: `authgate_session=${session}`, 'Sec-Fetch-Site': 'cross-site', Referer: 'https://evil.example/' } });
    assert.equal((await app(session)).status, 200);
    assert.equal((await app(other)).status, 200);
  });

  it('GET without a usable session shows the signed-out page and clears the cookie', async () => {
    for (const cookie of [undefined, 'authgate_session=garbage']) {
      const res = await request(s.base, '/_authgate/logout', cookie ? { headers: { Cookie: cookie } } : {});
      assert.equal(res.status, 200);
      assert.match(res.body, /signed out/i);
      assert.doesNotMatch(res.body, /name="csrf"/);
      assert.ok(res.setCookies.some((c) => /^authgate_session=;.*Max-Age=0/.test(c)), 'cookie cleared');
    }
  });

  it('POST without the token, with a wrong one or with another session\'s: 403 and nothing ends', async () => {
    const session = await signIn(s.base, 'alice', users.alice.password);
    const second = await signIn(s.base, 'alice', users.alice.password);
    const { csrf: othersToken } = await logoutPage(s.base, second);
    const { csrf: mine } = await logoutPage(s.base, session);
    assert.notEqual(othersToken, mine, 'each session has its own token');
    const cases = {
      'no token': {},
      'empty token': { csrf: '' },
      'wrong token': { csrf: 'A'.repeat(mine.length) },
      'another session\'s token': { csrf: othersToken },
      'no token, everywhere=1': { everywhere: '1' },
      'another session\'s token, everywhere=1': { csrf: othersToken, everywhere: '1' },
    };
    for (const [label, fields] of Object.entries(cases)) {
      const res = await post(session, fields);
      assert.equal(res.status, 403, `${label}: ${res.status}`);
      assert.ok(!res.setCookies.some((c) => /^authgate_session=/.test(c)), `${label}: cookie kept`);
      assert.equal((await app(session)).status, 200, `${label}: session still valid`);
      assert.equal((await app(second)).status, 200, `${label}: other session still valid`);
    }
  });

  it('POST with the session\'s token ends it on the server', async () => {
    const session = await signIn(s.base, 'alice', users.alice.password);
    const out = await logout(s.base, session);
    assert.equal(out.status, 200);
    assert.match(out.body, /signed out/i);
    assert.ok(out.setCookies.some((c) => /^authgate_session=;.*Max-Age=0/.test(c)), 'cookie cleared');
    assert.equal((await app(session)).status, 302, 'a saved copy of the cookie no longer works');
  });

  it('POST everywhere=1 with the token ends the user\'s sessions on every device, and only theirs', async () => {
    const devices = [];
    for (let i = 0; i < 3; i++) devices.push(await signIn(s.base, 'alice', users.alice.password));
    const bob = await signIn(s.base, 'bob', users.bob.password);
    const out = await logout(s.base, devices[0], { everywhere: true });
    assert.equal(out.status, 200);
    for (const d of devices) assert.equal((await app(d)).status, 302);
    assert.equal((await app(bob)).status, 200);
    assert.match(s.nginx.log(), /user "alice" signed out everywhere \(\d+ sessions\)/);
  });

  it('redirects to a local rd after logout, never to another site', async () => {
    const session = await signIn(s.base, 'bob', users.bob.password);
    const local = await logout(s.base, session, { rd: '/bye' });
    assert.equal(local.status, 303);
    assert.equal(new URL(local.headers.location, s.base).href, `${s.base}/bye`);
    const evil = await request(s.base, '/_authgate/logout?rd=//evil.example/', {});
    assert.equal(evil.status, 200);
    assert.equal(evil.headers.location, undefined);
    const page = await logoutPage(s.base, await signIn(s.base, 'bob', users.bob.password), { rd: '//evil.example/' });
    assert.match(page.res.body, /name="rd" value=""/, 'an unsafe rd is not carried into the form');
    for (const rd of ['/..//evil.example/', '/%2e%2e//evil.example/']) {
      const dots = await request(s.base, `/_authgate/logout?rd=${encodeURIComponent(rd)}`, {});
      if (dots.headers.location === undefined) continue;
      const target = new URL(dots.headers.location, s.base);
      assert.equal(target.origin, s.base);
      assert.ok(!target.pathname.startsWith('//'), `rd ${rd}: Location ${dots.headers.location} resolves to ${target.pathname}`);
    }
  });
});
