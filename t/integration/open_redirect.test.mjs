// Open-redirect payloads in rd, through the whole sign-in flow, end on a local page.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { loginPage, request, submitLogin } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

const payloads = [
  '//evil.com', '///evil.com', '/\\evil.com', '\\\\evil.com', 'https://evil.com', 'http:evil.com',
  'https:/evil.com', '/%2F%2Fevil.com', '%2F%2Fevil.com', '/%5Cevil.com', '/%252F%252Fevil.com',
  '/%09/evil.com', '/%0d%0aLocation:%20http://evil.com', 'javascript:alert(1)', '//evil.com@127.0.0.1',
  '/\t/evil.com', ' //evil.com', '/%00/evil', '//%65vil.com', 'evil.com', '',
  '/\\/evil.com', '\t//evil.com', '/\r\n/evil.com', '//evil.com%2F..',
];

// Odd but local paths: a browser resolves them on this host, so the gate may keep them or
// fall back to "/"; either way the target must stay on this origin.
const oddLocal = ['/ /evil.com', '/.%2F%2Fevil.com'];

// Dot segments (plain or %2e-encoded) that a browser's URL parser removes, leaving the path
// "//evil.com": a later trailing-slash redirect by the app would make that "//evil.com/".
const dotSegments = ['/..//evil.com', '/.//evil.com', '/a/..//evil.com', '/%2e%2e//evil.com',
  '/%2E%2E/%2e%2e//evil.com', '/.%2e//evil.com'];

describe('open redirects', () => {
  const s = gatedServer();

  for (const rd of payloads) {
    it(`sign-in with rd=${JSON.stringify(rd)} stays on this site`, async () => {
      const { res: page, csrf, csrfCookie } = await loginPage(s.base, rd);
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.body, /evil\.com"/, 'the form does not carry the payload');
      const res = await submitLogin(s.base, { username: 'bob', password: users.bob.password, rd, csrf, csrfCookie });
      assert.equal(res.status, 303);
      const target = new URL(res.headers.location, s.base);
      assert.equal(target.origin, s.base);
      assert.ok(target.pathname.startsWith('/') && !target.pathname.startsWith('//'));
      assert.equal(target.pathname, '/');
    });
  }

  for (const rd of [...oddLocal, ...dotSegments]) {
    const what = oddLocal.includes(rd) ? 'odd local' : 'dot-segment';
    it(`sign-in with the ${what} rd=${JSON.stringify(rd)} stays on this site, not on path //evil.com`, async () => {
      const { csrf, csrfCookie } = await loginPage(s.base, rd);
      const res = await submitLogin(s.base, { username: 'bob', password: users.bob.password, rd, csrf, csrfCookie });
      assert.equal(res.status, 303);
      assert.doesNotMatch(res.headers.location, /[\r\n]/);
      const target = new URL(res.headers.location, s.base);
      assert.equal(target.origin, s.base);
      assert.ok(target.pathname.startsWith('/') && !target.pathname.startsWith('//'),
        `Location ${res.headers.location} resolves to the path ${target.pathname}`);
      assert.ok(['/', new URL(rd, s.base).pathname].includes(target.pathname), target.pathname);
    });
  }

  it('keeps a legitimate local rd', async () => {
    const { csrf, csrfCookie } = await loginPage(s.base, '/deep/page?q=1');
    const res = await submitLogin(s.base, { username: 'bob', password: users.bob.password, rd: '/deep/page?q=1', csrf, csrfCookie });
    assert.equal(new URL(res.headers.location, s.base).href, `${s.base}/deep/page?q=1`);
  });

  it('builds rd from an odd request path without becoming an open redirect', async () => {
    const res = await request(s.base, '//evil.com/x');
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.location, s.base);
    assert.equal(loc.origin, s.base);
    assert.ok(!(loc.searchParams.get('rd') || '/').startsWith('//'));
  });
});
