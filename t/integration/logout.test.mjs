// Sign-out ends the session on the server, not only in the browser.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

describe('logout', () => {
  const s = gatedServer();

  for (const method of ['GET', 'POST']) {
    it(`${method} /_authgate/logout revokes the session`, async () => {
      const session = await signIn(s.base, 'alice', users.alice.password);
      const cookie = { Cookie: `authgate_session=${session}` };
      assert.equal((await request(s.base, '/app', { headers: cookie })).status, 200);
      const out = await request(s.base, '/_authgate/logout', { method, headers: cookie, body: method === 'POST' ? '' : undefined });
      assert.equal(out.status, 200);
      assert.match(out.body, /signed out/i);
      assert.ok(out.setCookies.some((c) => /^authgate_session=;.*Max-Age=0/.test(c)), 'cookie cleared');
      const replay = await request(s.base, '/app', { headers: cookie });
      assert.equal(replay.status, 302, 'a saved copy of the cookie no longer works');
    });
  }

  it('POST everywhere=1 ends the user\'s sessions on every device, and only theirs', async () => {
    const devices = [];
    for (let i = 0; i < 3; i++) devices.push(await signIn(s.base, 'alice', users.alice.password));
    const bob = await signIn(s.base, 'bob', users.bob.password);
    const out = await request(s.base, '/_authgate/logout', {
      method: 'POST',
      headers: { Cookie: `authgate_session=${devices[0]}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'everywhere=1',
    });
    assert.equal(out.status, 200);
    for (const d of devices) {
      assert.equal((await request(s.base, '/app', { headers: { Cookie: `authgate_session=${d}` } })).status, 302);
    }
    assert.equal((await request(s.base, '/app', { headers: { Cookie: `authgate_session=${bob}` } })).status, 200);
    assert.match(s.nginx.log(), /user "alice" signed out everywhere \(\d+ sessions\)/);
  });

  it('ignores everywhere=1 on GET (a link cannot sign a user out of every device)', async () => {
    const a = await signIn(s.base, 'alice', users.alice.password);
    const b = await signIn(s.base, 'alice', users.alice.password);
    await request(s.base, '/_authgate/logout?everywhere=1', { headers: { Cookie: `authgate_session=${a}` } });
    assert.equal((await request(s.base, '/app', { headers: { Cookie: `authgate_session=${b}` } })).status, 200);
  });

  it('redirects to a local rd after logout, never to another site', async () => {
    const session = await signIn(s.base, 'bob', users.bob.password);
    const local = await request(s.base, '/_authgate/logout?rd=/bye', { headers: { Cookie: `authgate_session=${session}` } });
    assert.equal(local.status, 303);
    assert.equal(new URL(local.headers.location, s.base).href, `${s.base}/bye`);
    const evil = await request(s.base, '/_authgate/logout?rd=//evil.example/', {});
    assert.equal(evil.status, 200);
    assert.equal(evil.headers.location, undefined);
    for (const rd of ['/..//evil.example/', '/%2e%2e//evil.example/']) {
      const dots = await request(s.base, `/_authgate/logout?rd=${encodeURIComponent(rd)}`, {});
      if (dots.headers.location === undefined) continue;
      const target = new URL(dots.headers.location, s.base);
      assert.equal(target.origin, s.base);
      assert.ok(!target.pathname.startsWith('//'), `rd ${rd}: Location ${dots.headers.location} resolves to ${target.pathname}`);
    }
  });
});
