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

  it('redirects to a local rd after logout, never to another site', async () => {
    const session = await signIn(s.base, 'bob', users.bob.password);
    const local = await request(s.base, '/_authgate/logout?rd=/bye', { headers: { Cookie: `authgate_session=${session}` } });
    assert.equal(local.status, 303);
    assert.equal(new URL(local.headers.location, s.base).href, `${s.base}/bye`);
    const evil = await request(s.base, '/_authgate/logout?rd=//evil.example/', {});
    assert.equal(evil.status, 200);
    assert.equal(evil.headers.location, undefined);
  });
});
