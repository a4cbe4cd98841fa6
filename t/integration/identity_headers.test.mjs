// Spoofed identity headers and the gate's cookies never reach the upstream.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

describe('identity headers', () => {
  const s = gatedServer({
    locations: (backend) => `
        location /renamed/ {
            authgate on;
            authgate_identity_headers user=X-Remote-User groups=off;
            proxy_pass http://127.0.0.1:${backend};
        }`,
    apache: {
      locations: () => `
    <Location /renamed/>
        AuthGate On
        AuthGateIdentityHeaders user=X-Remote-User groups=off
    </Location>`,
    },
  });

  it('replaces client-sent identity headers, in any case or spelling', async () => {
    const session = await signIn(s.base, 'bob', users.bob.password);
    const res = await request(s.base, '/app', {
      headers: {
        Cookie: `theme=dark; authgate_session=${session}; lang=en`,
        'X-Auth-User': 'mallory',
        'x-auth-email': 'mallory@evil.example',
        'X-AUTH-GROUPS': 'admins',
        'X-Auth-Name': 'Mallory',
        X_Auth_Email: 'mallory2@evil.example',
      },
    });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.user, 'bob');
    assert.equal(seen.email, 'bob@example.com');
    assert.equal(seen.groups, 'staff');
    assert.equal(seen.name, 'Bob B');
  });

  it('keeps other cookies but removes the session cookie from the upstream request', async () => {
    const session = await signIn(s.base, 'bob', users.bob.password);
    const res = await request(s.base, '/app', { headers: { Cookie: `theme=dark; authgate_session=${session}; lang=en` } });
    const seen = JSON.parse(res.body);
    assert.equal(seen.cookie, 'theme=dark; lang=en');
    const only = await request(s.base, '/app', { headers: { Cookie: `authgate_session=${session}` } });
    assert.equal(JSON.parse(only.body).cookie, '');
  });

  it('strips spoofed identity headers and the gate cookies in ungated locations too', async () => {
    const session = await signIn(s.base, 'bob', users.bob.password);
    const res = await request(s.base, '/public/page', {
      headers: { 'X-Auth-User': 'admin', 'X-Auth-Groups': 'admins', Cookie: `theme=dark; authgate_session=${session}` },
    });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.user, '');
    assert.equal(seen.groups, '');
    assert.equal(seen.cookie, 'theme=dark');
  });

  it('never lets a spoofed header through without a session', async () => {
    const res = await request(s.base, '/app', { headers: { 'X-Auth-User': 'admin' } });
    assert.equal(res.status, 302);
  });

  it('uses the configured header names and strips spoofed ones', async () => {
    const session = await signIn(s.base, 'alice', users.alice.password);
    const res = await request(s.base, '/renamed/x', {
      headers: { Cookie: `authgate_session=${session}`, 'X-Remote-User': 'mallory', 'X-Auth-User': 'mallory' },
    });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.remote, 'alice');
    assert.equal(seen.user, '', 'X-Auth-User is not sent when renamed, and the spoofed one is gone');
    assert.equal(seen.groups, '', 'groups=off sends no groups header');
  });
});
