// Tampered, truncated, foreign and garbage session cookies are treated as no session.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { Nginx, makePrefix, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

describe('cookie tampering', () => {
  const s = gatedServer();
  const other = {};

  before(async () => {
    // A second gate with its own key: its cookies must not open the first.
    const [port] = await freePorts(1);
    other.prefix = makePrefix('authgate-other');
    other.nginx = await new Nginx(other.prefix, `
    authgate_key_file ${other.prefix}/authgate.key;
    authgate_users_file ${other.prefix}/users;
    server {
        listen 127.0.0.1:${port};
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; return 204; }
    }`, { port, workers: 1 }).start();
    other.base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    const bad = other.nginx ? other.nginx.badLogLines() : [];
    await other.nginx?.stop();
    if (other.prefix) removePrefix(other.prefix);
    assert.deepEqual(bad, [], 'the second gate\'s error.log must have no [alert], [emerg] or sanitizer lines');
  });

  it('rejects every altered form of a valid cookie', async () => {
    const good = await signIn(s.base, 'alice', users.alice.password);
    const flip = (v, i) => v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1);
    const foreign = await signIn(other.base, 'alice', users.alice.password);
    const cases = {
      'flipped first char': flip(good, 0),
      'flipped middle char': flip(good, 31),
      'flipped last char': flip(good, 63),
      truncated: good.slice(0, 40),
      extended: `${good}AA`,
      empty: '',
      garbage: 'not-a-session',
      'non-base64': '!'.repeat(64),
      'other server': foreign,
      'quoted garbage': '"abc"',
    };
    for (const [what, value] of Object.entries(cases)) {
      const browser = await request(s.base, '/app', { headers: { Cookie: `authgate_session=${value}` } });
      assert.equal(browser.status, 302, what);
      const api = await request(s.base, '/app', { headers: { Cookie: `authgate_session=${value}`, Accept: 'application/json' } });
      assert.equal(api.status, 401, what);
      assert.match(JSON.parse(api.body).errors[0].code, /^(no_session|session_invalid|session_expired)$/, what);
    }
    const ok = await request(s.base, '/app', { headers: { Cookie: `authgate_session=${good}` } });
    assert.equal(ok.status, 200);
  });

  it('clears an unusable cookie in the browser', async () => {
    const res = await request(s.base, '/app', { headers: { Cookie: 'authgate_session=garbage' } });
    assert.ok(res.setCookies.some((c) => /^authgate_session=;.*Max-Age=0/.test(c)));
  });

  it('survives hostile Cookie headers', async () => {
    for (const header of [';;;;', '=', 'authgate_session', 'authgate_session==', `a=${'x'.repeat(6000)}`,
      'authgate_session=a; authgate_session=b; authgate_session=c; authgate_session=d; authgate_session=e']) {
      const res = await request(s.base, '/app', { headers: { Cookie: header } });
      assert.equal(res.status, 302, header.slice(0, 40));
    }
  });
});
