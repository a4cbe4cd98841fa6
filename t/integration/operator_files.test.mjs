// Operator files: custom page templates, and users disabled in the users file lose their sessions on reload.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gatedServer } from './harness/gate.mjs';
import { loginPage, request, signIn } from './harness/http.mjs';
import { users, writeUsersFile } from './harness/fixtures.mjs';

describe('operator files', () => {
  const s = gatedServer({
    setup: (prefix) => {
      const dir = path.join(prefix, 'templates');
      fs.mkdirSync(dir, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, 'login.html'),
        '<h1>ACME sign-in</h1><form method="post" action="{{action}}"><input name="csrf" value="{{csrf}}"><input name="rd" value="{{rd}}"></form>');
    },
    locations: () => `
        location /custom/_authgate/ { authgate_prefix /custom/_authgate/; authgate_templates templates; authgate_endpoint; }`,
  });

  it('renders operator templates with escaped values', async () => {
    const res = await request(s.base, '/custom/_authgate/login?rd=/x%22%3E%3Cscript%3E');
    assert.equal(res.status, 200);
    assert.match(res.body, /ACME sign-in/);
    assert.match(res.body, /action="\/custom\/_authgate\/login"/);
    assert.doesNotMatch(res.body, /<script>/);
    const builtin = await loginPage(s.base);
    assert.doesNotMatch(builtin.res.body, /ACME/);
  });

  it('ends the sessions of a user disabled in the users file after reload', async () => {
    const bob = await signIn(s.base, 'bob', users.bob.password);
    const alice = await signIn(s.base, 'alice', users.alice.password);
    const get = (v) => request(s.base, '/app', { headers: { Cookie: `authgate_session=${v}` } });
    assert.equal((await get(bob)).status, 200);
    writeUsersFile(path.join(s.prefix, 'users'), { ...users, bob: { ...users.bob, disabled: true } });
    await s.nginx.reload();
    assert.equal((await get(bob)).status, 302, 'disabled user is signed out');
    assert.equal((await get(alice)).status, 200, 'others keep their sessions');
    writeUsersFile(path.join(s.prefix, 'users'));
    await s.nginx.reload();
  });
});
