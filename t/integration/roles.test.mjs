// Roles and permissions: authgate_role with inheritance, role:/permission: terms (nginx) and
// AuthGateRequire / Require authgate-role|-permission (Apache); 403 for signed-in users
// without them, the sign-in redirect for anonymous ones, nothing granted by spoofed headers or
// cookies, and a reload that takes a permission away applies to existing sessions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gatedServer } from './harness/gate.mjs';
import { request, signIn } from './harness/http.mjs';
import { hashPassword, users, writeUsersFile } from './harness/fixtures.mjs';
import { testServer } from './harness/env.mjs';
import { testStore } from './harness/redis.mjs';

const apache = testServer === 'apache';
const people = {
  ...users,
  alice: { ...users.alice, roles: ['editor'] },
  bob: { ...users.bob, roles: ['viewer'] },
  erin: { password: 'erin-pass-1', email: 'erin@example.com', name: 'Erin E', groups: ['staff'] }, // no roles field
  frank: { password: 'frank-pass-1', email: 'frank@example.com', name: 'Frank F', groups: [], roles: ['ghost', 'admin'] },
};

// nginx and Apache spell the same role lines differently; the test rewrites them to reload.
const roleLines = (editorPermissions) => [
  ['viewer', 'permissions=docs:read'],
  ['editor', `permissions=${editorPermissions}`, 'inherits=viewer'],
  ['admin', 'permissions=users:manage', 'inherits=editor'],
];
const writeRoles = (prefix, editorPermissions) => fs.writeFileSync(path.join(prefix, 'roles.conf'),
  roleLines(editorPermissions).map((l) => apache ? `AuthGateRole ${l.join(' ')}\n` : `authgate_role ${l.join(' ')};\n`).join(''));

describe('roles and permissions', () => {
  const s = gatedServer({
    setup: (prefix) => {
      writeUsersFile(path.join(prefix, 'users'), people);
      writeRoles(prefix, 'docs:write,docs:publish');
    },
    http: ({ prefix }) => `include ${prefix}/roles.conf;`,
    locations: (b) => `
        location /edit/  { authgate on; authgate_require role:editor; proxy_pass http://127.0.0.1:${b}; }
        location /write/ { authgate on; authgate_require permission:docs:write; proxy_pass http://127.0.0.1:${b}; }
        location /read/  { authgate on; authgate_require permission:docs:read; proxy_pass http://127.0.0.1:${b}; }
        location /admin/ { authgate on; authgate_require role:admin; proxy_pass http://127.0.0.1:${b}; }
        location /any/   { authgate on; authgate_require any user:erin role:editor; proxy_pass http://127.0.0.1:${b}; }
        location /all/   { authgate on; authgate_require all group:admins permission:docs:read; proxy_pass http://127.0.0.1:${b}; }
        location /lines/ { authgate on; authgate_require role:viewer; authgate_require permission:docs:publish; proxy_pass http://127.0.0.1:${b}; }`,
    apache: {
      http: ({ prefix }) => `Include ${prefix}/roles.conf`,
      locations: () => `
    <Location /edit/>
        AuthGateRequire role:editor
    </Location>
    <Location /write/>
        AuthGateRequire permission:docs:write
    </Location>
    <Location /read/>
        AuthGateRequire permission:docs:read
    </Location>
    <Location /admin/>
        AuthGateRequire role:admin
    </Location>
    <Location /any/>
        AuthGateRequire any user:erin role:editor
    </Location>
    <Location /all/>
        AuthGateRequire all group:admins permission:docs:read
    </Location>
    <Location /lines/>
        AuthGate Off
        AuthType authgate
        AuthzSendForbiddenOnFailure On
        <RequireAll>
            Require authgate-role viewer
            Require authgate-permission docs:publish
        </RequireAll>
    </Location>
    <Location /either/>
        AuthGate Off
        AuthType authgate
        AuthzSendForbiddenOnFailure On
        <RequireAny>
            Require authgate-permission users:manage
            Require authgate-role editor
        </RequireAny>
    </Location>`,
    },
  });
  const sessions = {};
  const get = (who, p, headers = {}) =>
    request(s.base, p, { headers: { Cookie: `authgate_session=${sessions[who]}`, ...headers } });

  it('signs in users with and without roles (six-field users-file lines still parse)', async () => {
    for (const who of ['alice', 'bob', 'erin', 'frank']) sessions[who] = await signIn(s.base, who, people[who].password);
  });

  // alice: editor (inherits viewer); bob: viewer; erin: no roles; frank: an undefined role
  // ("ghost", granting nothing) and admin.
  const table = [
    ['/edit/x', { alice: 200, bob: 403, erin: 403, frank: 200 }],
    ['/write/x', { alice: 200, bob: 403, erin: 403, frank: 200 }],
    ['/read/x', { alice: 200, bob: 200, erin: 403, frank: 200 }],
    ['/admin/x', { alice: 403, bob: 403, erin: 403, frank: 200 }],
    ['/any/x', { alice: 200, bob: 403, erin: 200, frank: 200 }],
    ['/all/x', { alice: 200, bob: 403, erin: 403, frank: 403 }],
    ['/lines/x', { alice: 200, bob: 403, erin: 403, frank: 200 }],
    ...(apache ? [['/either/x', { alice: 200, bob: 403, erin: 403, frank: 200 }]] : []),
  ];
  for (const [p, expect] of table) {
    it(`${p}: ${Object.entries(expect).map(([u, c]) => `${u} ${c}`).join(', ')}`, async () => {
      for (const [who, status] of Object.entries(expect)) {
        const res = await get(who, p);
        assert.equal(res.status, status, `${who} on ${p}`);
        if (status === 200) assert.equal(JSON.parse(res.body).user, who);
        if (status === 403) assert.equal(res.headers.location, undefined, 'a 403, never a redirect');
      }
    });
  }

  it('sends anonymous browsers to sign in and answers API clients 401', async () => {
    for (const p of ['/edit/x', '/write/x', '/lines/x']) {
      const res = await request(s.base, p);
      assert.equal(res.status, 302, p);
      assert.match(res.headers.location, /\/_authgate\/login\?rd=/);
    }
    const api = await request(s.base, '/write/x', { headers: { Accept: 'application/json' } });
    assert.equal(api.status, 401);
  });

  it('sends the session\'s roles upstream in X-Auth-Roles', async () => {
    assert.equal(JSON.parse((await get('alice', '/read/x')).body).roles, 'editor');
    assert.equal(JSON.parse((await get('bob', '/read/x')).body).roles, 'viewer');
    assert.equal(JSON.parse((await get('frank', '/read/x')).body).roles, 'ghost,admin');
    assert.equal(JSON.parse((await get('erin', '/app')).body).roles, '');
  });

  it('grants nothing for a spoofed role header or cookie', async () => {
    const spoof = { 'X-Auth-Roles': 'editor,admin', 'X-Auth-Groups': 'admins', X_Auth_Roles: 'admin' };
    const bob = await get('bob', '/write/x', spoof);
    assert.equal(bob.status, 403);
    const cookie = await request(s.base, '/edit/x', {
      headers: { Cookie: `authgate_session=${sessions.bob}; authgate_roles=editor; roles=admin`, ...spoof },
    });
    assert.equal(cookie.status, 403);
    const anonymous = await request(s.base, '/edit/x', { headers: { ...spoof, Cookie: 'authgate_roles=editor' } });
    assert.equal(anonymous.status, 302);
    // The client's copy never reaches an upstream, gated or open.
    const upstream = await get('bob', '/read/x', spoof);
    assert.equal(upstream.status, 200);
    assert.equal(JSON.parse(upstream.body).roles, 'viewer');
    const open = await request(s.base, '/public/x', { headers: spoof });
    assert.equal(open.status, 200);
    assert.equal(JSON.parse(open.body).roles, '');
  });

  it('takes a run-time user\'s roles from the "roles" field of their store record',
    { skip: testStore !== 'redis' && 'run-time users live in Redis' }, async () => {
      s.redis.cli('HSET', 'authgate:u:{gina}', 'password', hashPassword('gina-pass-1'),
        'email', 'gina@example.com', 'groups', '', 'roles', 'editor,bad role', 'disabled', '0');
      s.redis.cli('HSET', 'authgate:u:{hank}', 'password', hashPassword('hank-pass-1'), 'disabled', '0');
      sessions.gina = await signIn(s.base, 'gina', 'gina-pass-1');
      sessions.hank = await signIn(s.base, 'hank', 'hank-pass-1');
      const gina = await get('gina', '/write/x');
      assert.equal(gina.status, 200);
      assert.equal(JSON.parse(gina.body).roles, 'editor', 'the malformed name is dropped');
      assert.equal((await get('gina', '/admin/x')).status, 403);
      assert.equal((await get('hank', '/read/x')).status, 403, 'no roles field: no roles');
    });

  // Sessions outlive the reload on every store (Apache keeps its shared region too).
  it('a reload that takes a permission from a role denies existing sessions at once', async () => {
      assert.equal((await get('alice', '/write/x')).status, 200);
      writeRoles(s.prefix, 'docs:publish'); // editor loses docs:write
      await s.nginx.reload();
      assert.equal((await get('alice', '/write/x')).status, 403, 'docs:write is gone');
      assert.equal((await get('alice', '/edit/x')).status, 200, 'the role itself stays');
      assert.equal((await get('frank', '/write/x')).status, 403, 'heirs lose it too');
      writeRoles(s.prefix, 'docs:write,docs:publish');
      await s.nginx.reload();
      assert.equal((await get('alice', '/write/x')).status, 200, 'and it comes back');
    });
});
