// Apache-specific behaviour of mod_authgate: directive errors with file and line, Require
// combinations, subrequests, the store across processes, graceful restarts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Apache, apacheTest, startEcho } from './harness/apache.mjs';
import { testServer } from './harness/env.mjs';
import { makePrefix, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { logout, request, signIn } from './harness/http.mjs';
import { Nginx, echoServer } from './harness/nginx.mjs';
import { Redis } from './harness/redis.mjs';
import { users } from './harness/fixtures.mjs';

const skip = testServer !== 'apache' && 'Apache only (AUTHGATE_TEST_SERVER=apache)';

// A gate on `port` with sections of its own, the echo backend on `backend`.
function gateConf(prefix, port, backend, sections) {
  return `
Listen 127.0.0.1:${port}
AuthGateKeyFile ${prefix}/authgate.key
AuthGateUsersFile ${prefix}/users
<VirtualHost 127.0.0.1:${port}>
    AuthGatePublicOrigin http://127.0.0.1:${port}
    <Location />
        ProxyPass http://127.0.0.1:${backend}/
    </Location>
    <Location /_authgate/>
        SetHandler authgate-endpoint
        ProxyPass !
    </Location>
${sections}
</VirtualHost>
`;
}

// Starts apache2 with gateConf; stopped (and the log checked) after the suite.
function gateSuite(sections, opts = {}) {
  const s = {};
  before(async () => {
    [s.port, s.backend] = await freePorts(2);
    s.prefix = makePrefix();
    if (opts.setup) opts.setup(s.prefix);
    s.base = `http://127.0.0.1:${s.port}`;
    s.echo = await startEcho(s.backend);
    s.apache = await new Apache(s.prefix, gateConf(s.prefix, s.port, s.backend, sections(s)),
      { port: s.port, ...opts }).start();
  });
  after(async () => {
    const bad = s.apache ? s.apache.badLogLines() : [];
    if (s.apache) await s.apache.stop();
    if (s.echo) await s.echo.close();
    if (s.prefix) removePrefix(s.prefix);
    assert.deepEqual(bad, []);
  });
  return s;
}

function lineOf(text, needle) {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

describe('directive errors name the file and line', { skip }, () => {
  let prefix;
  before(() => { prefix = makePrefix(); });
  after(() => removePrefix(prefix));

  it('rejects a bad value where it is written (apache2 -t)', () => {
    const body = gateConf(prefix, 1, 2, '    <Location /app/>\n        AuthGateIdleTimeout banana\n    </Location>');
    const r = apacheTest(prefix, body);
    assert.equal(r.status, 1, r.output);
    const text = fs.readFileSync(r.conf, 'utf8');
    assert.match(r.output, new RegExp(`Syntax error on line ${lineOf(text, 'banana')} of ${r.conf}`));
    assert.match(r.output, /AuthGateIdleTimeout/);
  });

  it('rejects a directive outside its contexts', () => {
    const body = gateConf(prefix, 1, 2, '    <Location /app/>\n        AuthGateShmZone other:1m\n    </Location>');
    const r = apacheTest(prefix, body);
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /AuthGateShmZone is not allowed in <Directory>\/<Location>/);
  });

  it('reports errors found after parsing at the directive that caused them', () => {
    const body = gateConf(prefix, 1, 2, '    <Location /app/>\n        AuthGate On\n        AuthGateDefaultProvider nowhere\n    </Location>');
    const r = apacheTest(prefix, body);
    assert.equal(r.status, 1, r.output);
    const text = fs.readFileSync(r.conf, 'utf8');
    assert.match(r.output, new RegExp(`nowhere.* in ${r.conf}:${lineOf(text, 'nowhere')}`));
    assert.match(r.output, /AuthGateDefaultProvider "nowhere" names no AuthGateOidcProvider/,
      'the message uses the Apache names');
    assert.match(r.output, /Configuration check failed/);
  });

  it('rejects role inheritance cycles, unknown roles and bad role lines with file and line', () => {
    const cycle = gateConf(prefix, 1, 2, '').replace('<VirtualHost', [
      'AuthGateRole staff permissions=docs:read',
      'AuthGateRole lead inherits=manager,staff',
      'AuthGateRole manager inherits=lead',
      '<VirtualHost'].join('\n'));
    let r = apacheTest(prefix, cycle);
    assert.equal(r.status, 1, r.output);
    let text = fs.readFileSync(r.conf, 'utf8');
    assert.match(r.output, new RegExp(`AuthGateRole inheritance cycle: lead -> manager -> lead in ${r.conf}:${lineOf(text, 'AuthGateRole manager')}`));

    r = apacheTest(prefix, gateConf(prefix, 1, 2, '    AuthGateRole editor inherits=viewr'));
    assert.equal(r.status, 1, r.output);
    text = fs.readFileSync(r.conf, 'utf8');
    assert.match(r.output, new RegExp(`AuthGateRole "editor" inherits "viewr", which no AuthGateRole defines in ${r.conf}:${lineOf(text, 'viewr')}`));

    r = apacheTest(prefix, gateConf(prefix, 1, 2, '    AuthGateRole a\n    AuthGateRole a permissions=x'));
    assert.equal(r.status, 1, r.output);
    text = fs.readFileSync(r.conf, 'utf8');
    assert.match(r.output, new RegExp(`Syntax error on line ${lineOf(text, 'permissions=x')} of ${r.conf}`));
    assert.match(r.output, /role "a" is already defined/);

    r = apacheTest(prefix, gateConf(prefix, 1, 2, '    AuthGateRole bad:name'));
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /invalid role name "bad:name"/);
  });

  it('rejects roles that Require lines name but no AuthGateRole defines', () => {
    let r = apacheTest(prefix, gateConf(prefix, 1, 2, `    AuthGateRole editor
    <Location /app/>
        AuthType authgate
        Require authgate-role editor admins
    </Location>`));
    assert.equal(r.status, 1, r.output);
    let text = fs.readFileSync(r.conf, 'utf8');
    assert.match(r.output, new RegExp(`Require authgate-role "admins": no AuthGateRole "admins" is defined for this server in ${r.conf}:${lineOf(text, 'Require authgate-role')}`));

    r = apacheTest(prefix, gateConf(prefix, 1, 2, `    <Location /app/>
        AuthGate On
        AuthGateRequire role:admins
    </Location>`));
    assert.equal(r.status, 1, r.output);
    text = fs.readFileSync(r.conf, 'utf8');
    assert.match(r.output, new RegExp(`AuthGateRequire role:admins: no AuthGateRole "admins" is defined for this server in ${r.conf}:${lineOf(text, 'role:admins')}`));

    r = apacheTest(prefix, gateConf(prefix, 1, 2, `    <Location /app/>
        AuthType authgate
        Require authgate-permission "docs;write"
    </Location>`));
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /Require authgate-permission: invalid permission name "docs;write"/);

    // Defined later in the file is fine: the check runs once everything is read.
    r = apacheTest(prefix, gateConf(prefix, 1, 2, `    <Location /app/>
        AuthType authgate
        Require authgate-role editor
    </Location>
    AuthGateRole editor permissions=docs:write`));
    assert.equal(r.status, 0, r.output);
  });

  it('accepts every directive\'s documented example', () => {
    const r = apacheTest(prefix, gateConf(prefix, 1, 2, `    <Location /app/>
        AuthGate On
        AuthGateIdleTimeout 30m
        AuthGateRequire any group:admins user:alice
        AuthGateIdentityHeaders user=X-Remote-User groups=off
    </Location>`));
    assert.equal(r.status, 0, r.output);
  });
});

describe('Require authgate-* providers', { skip }, () => {
  const s = gateSuite(() => `
    <Location /all/>
        AuthType authgate
        <RequireAll>
            Require authgate-group staff
            Require authgate-user bob
        </RequireAll>
    </Location>
    <Location /any/>
        AuthType authgate
        <RequireAny>
            Require authgate-user alice
            Require authgate-group nobody
        </RequireAny>
    </Location>
    <Location /valid/>
        AuthType authgate
        Require valid-user
    </Location>
    <Location /open/>
        AuthType authgate
        Require all granted
    </Location>`);

  it('sends anonymous browsers to the sign-in page', async () => {
    const res = await request(s.base, '/all/x');
    assert.equal(res.status, 302);
    assert.match(res.headers.location, /\/_authgate\/login\?rd=/);
  });

  it('RequireAll needs every line; RequireAny one of them', async () => {
    const bob = await signIn(s.base, 'bob', users.bob.password);
    const alice = await signIn(s.base, 'alice', users.alice.password);
    const as = (session) => ({ headers: { Cookie: `authgate_session=${session}` } });
    assert.equal((await request(s.base, '/all/x', as(bob))).status, 200);
    assert.equal((await request(s.base, '/all/x', as(alice))).status, 401);
    assert.equal((await request(s.base, '/any/x', as(alice))).status, 200);
    assert.equal((await request(s.base, '/any/x', as(bob))).status, 401);
    const valid = await request(s.base, '/valid/x', as(alice));
    assert.equal(valid.status, 200);
    assert.equal(JSON.parse(valid.body).user, 'alice');
  });

  it('Require all granted needs no session, and a spoofed header never passes', async () => {
    const res = await request(s.base, '/open/x', { headers: { 'X-Auth-User': 'alice', X_Auth_Groups: 'admins' } });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).user, '');
    assert.equal(JSON.parse(res.body).groups, '');
  });

  it('rejects a tampered session cookie', async () => {
    const res = await request(s.base, '/valid/x', { headers: { Cookie: 'authgate_session=AAAA' } });
    assert.equal(res.status, 302);
  });
});

describe('subrequests', { skip }, () => {
  const s = gateSuite(() => `
    <Location /app/>
        AuthGate On
    </Location>
    <Location /ssi/>
        ProxyPass !
        Options +Includes
        SetOutputFilter INCLUDES
    </Location>`, {
    setup: (prefix) => {
      fs.mkdirSync(path.join(prefix, 'htdocs', 'ssi'), { recursive: true });
      fs.writeFileSync(path.join(prefix, 'htdocs', 'ssi', 'page.html'),
        'before <!--#include virtual="/app/secret" --> after\n');
    },
  });

  it('an SSI include of a gated location is denied when anonymous', async () => {
    const res = await request(s.base, '/ssi/page.html');
    assert.equal(res.status, 200);
    assert.doesNotMatch(res.body, /"uri"/, 'the gated content must not be included');
    assert.match(res.body, /an error occurred/);
  });

  it('and included for a signed-in user', async () => {
    const session = await signIn(s.base, 'bob', users.bob.password);
    const res = await request(s.base, '/ssi/page.html', { headers: { Cookie: `authgate_session=${session}` } });
    assert.equal(res.status, 200);
    assert.match(res.body, /"user":"bob"/);
  });
});

describe('the embedded store under prefork (socache)', { skip }, () => {
  const s = gateSuite(() => `
    <Location /app/>
        AuthGate On
    </Location>`, { mpm: 'prefork', processes: 4 });

  it('a session made in one process is valid in every other, and its logout too', async () => {
    const session = await signIn(s.base, 'bob', users.bob.password);
    const cookie = { headers: { Cookie: `authgate_session=${session}` } };
    for (let i = 0; i < 12; ++i) {
      assert.equal((await request(s.base, '/app/x', cookie)).status, 200, `request ${i}`);
    }
    assert.ok(s.apache.childPids().length >= 2, 'several processes served');
    const out = await logout(s.base, session);
    assert.ok(out.status < 400, out.body);
    for (let i = 0; i < 8; ++i) {
      assert.equal((await request(s.base, '/app/x', cookie)).status, 302, `after logout ${i}`);
    }
  });
});

describe('graceful restart', { skip }, () => {
  const s = gateSuite(() => `
    <Location /app/>
        AuthGate On
    </Location>`);

  it('keeps serving the gate after SIGUSR1', async () => {
    for (let round = 0; round < 2; ++round) {
      await s.apache.gracefulRestart();
      const session = await signIn(s.base, 'alice', users.alice.password);
      const res = await request(s.base, '/app/x', { headers: { Cookie: `authgate_session=${session}` } });
      assert.equal(res.status, 200, `round ${round}: ${res.body}`);
      assert.equal(JSON.parse(res.body).user, 'alice');
      assert.equal((await request(s.base, '/app/x')).status, 302);
    }
  });
});

describe('mixed fleet: nginx and Apache through one Redis', { skip }, () => {
  const f = {};
  before(async () => {
    f.redis = await new Redis().start();
    const [nginxPort, apachePort, backend, nginxBackend] = await freePorts(4);
    f.prefix = makePrefix();
    f.nginxPrefix = makePrefix('authgate-fleet');
    // One key file and one users file for both servers.
    for (const file of ['authgate.key', 'users']) {
      fs.copyFileSync(path.join(f.prefix, file), path.join(f.nginxPrefix, file));
    }
    const store = `127.0.0.1:${f.redis.port} command_timeout=1s`;
    f.nginx = await new Nginx(f.nginxPrefix, `
    authgate_redis ${store};
    authgate_key_file ${f.nginxPrefix}/authgate.key;
    authgate_users_file ${f.nginxPrefix}/users;
    server {
        listen 127.0.0.1:${nginxPort};
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; proxy_pass http://127.0.0.1:${nginxBackend}; }
    }
${echoServer(nginxBackend)}`, { port: nginxPort, workers: 1 }).start();
    f.echo = await startEcho(backend);
    f.apache = await new Apache(f.prefix, `AuthGateRedis ${store}\n${gateConf(f.prefix, apachePort, backend,
      '    <Location /app/>\n        AuthGate On\n    </Location>')}`, { port: apachePort }).start();
    f.nginxBase = `http://127.0.0.1:${nginxPort}`;
    f.apacheBase = `http://127.0.0.1:${apachePort}`;
  });
  after(async () => {
    const bad = [...(f.apache ? f.apache.badLogLines() : []), ...(f.nginx ? f.nginx.badLogLines() : [])];
    await f.apache?.stop();
    await f.nginx?.stop();
    await f.echo?.close();
    await f.redis?.stop();
    for (const p of [f.prefix, f.nginxPrefix]) if (p) removePrefix(p);
    assert.deepEqual(bad, []);
  });

  const app = (base, session) => request(base, '/app/x', { headers: { Cookie: `authgate_session=${session}` } });

  it('a session made on nginx is valid on Apache; its logout on Apache ends it on nginx', async () => {
    const session = await signIn(f.nginxBase, 'bob', users.bob.password);
    const seen = await app(f.apacheBase, session);
    assert.equal(seen.status, 200, seen.body);
    assert.equal(JSON.parse(seen.body).user, 'bob');
    assert.equal((await logout(f.apacheBase, session)).status < 400, true);
    const started = Date.now();
    let status;
    while ((status = (await app(f.nginxBase, session)).status) !== 302 && Date.now() - started < 1000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(status, 302);
    assert.ok(Date.now() - started < 100, `nginx saw the logout after ${Date.now() - started} ms`);
  });

  it('a session made on Apache is valid on nginx', async () => {
    const session = await signIn(f.apacheBase, 'alice', users.alice.password);
    const seen = await app(f.nginxBase, session);
    assert.equal(seen.status, 200, seen.body);
    assert.equal(JSON.parse(seen.body).user, 'alice');
    assert.equal((await app(f.apacheBase, session)).status, 200);
  });
});
