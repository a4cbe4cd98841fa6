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

describe('the embedded store under prefork (shared region)', { skip }, () => {
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

describe('mixed fleet: nginx and Apache through one Redis, each with its session cache', { skip }, () => {
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
    const store = `127.0.0.1:${f.redis.port} command_timeout=1s session_cache=1s`;
    f.nginx = await new Nginx(f.nginxPrefix, `
    authgate_redis ${store};
    authgate_key_file ${f.nginxPrefix}/authgate.key;
    authgate_users_file ${f.nginxPrefix}/users;
    server {
        listen 127.0.0.1:${nginxPort};
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; proxy_pass http://127.0.0.1:${nginxBackend}; }
    }
${echoServer(nginxBackend)}`, { port: nginxPort, workers: 2 }).start();
    f.echo = await startEcho(backend);
    f.apache = await new Apache(f.prefix, `AuthGateRedis ${store}\n${gateConf(f.prefix, apachePort, backend,
      '    <Location /app/>\n        AuthGate On\n    </Location>')}`, { port: apachePort, processes: 2 }).start();
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
  const gets = () => Number((f.redis.cli('INFO', 'commandstats').match(/cmdstat_get:calls=(\d+)/) || [0, 0])[1]);
  // One request per connection, spread over the server's processes.
  const round = async (base, session, n = 16) =>
    (await Promise.all(Array.from({ length: n }, () => app(base, session)))).map((r) => r.status);
  // Until a whole round is answered without a GET: every process has the session cached.
  async function warm(base, session) {
    for (let i = 0; i < 40; i++) {
      const before = gets();
      assert.deepEqual(new Set(await round(base, session)), new Set([200]));
      if (gets() === before) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`${base} never answered a whole round from its session cache`);
  }
  async function refusedWithin(base, session, since) {
    for (;;) {
      const s = await round(base, session, 8);
      if (s.every((x) => x === 302)) return Date.now() - since;
      assert.ok(Date.now() - since < 1000, `still allowed after 1 s: ${s}`);
    }
  }

  it('Apache answers a cached session without asking Redis', async () => {
    const session = await signIn(f.nginxBase, 'bob', users.bob.password);
    await warm(f.apacheBase, session);
    const before = gets();
    let sent = 0;
    for (let i = 0; i < 5; i++) {
      const s = await round(f.apacheBase, session);
      sent += s.length;
      assert.deepEqual(new Set(s), new Set([200]));
    }
    // Served from the cache: a GET only where a process's beat came back late (a loaded
    // machine, ASan) and it asked Redis instead. Without the cache every request is one.
    assert.ok(gets() - before <= sent / 4, `${gets() - before} GETs for ${sent} cached lookups`);
    assert.equal(JSON.parse((await app(f.apacheBase, session)).body).user, 'bob', 'identity from the cache');
  });

  it('a session made on nginx is valid on Apache; its logout on Apache ends it on nginx within 100 ms', async (t) => {
    const session = await signIn(f.nginxBase, 'bob', users.bob.password);
    const seen = await app(f.apacheBase, session);
    assert.equal(seen.status, 200, seen.body);
    assert.equal(JSON.parse(seen.body).user, 'bob');
    await warm(f.nginxBase, session);
    await warm(f.apacheBase, session);
    assert.equal((await logout(f.apacheBase, session)).status < 400, true);
    const ms = await refusedWithin(f.nginxBase, session, Date.now());
    t.diagnostic(`every nginx worker refused it ${ms} ms after the logout on Apache answered`);
    assert.ok(ms < 100, `nginx saw the logout after ${ms} ms`);
    assert.deepEqual(new Set(await round(f.apacheBase, session, 8)), new Set([302]));
  });

  it('a logout on nginx ends the session cached on every Apache process within 100 ms', async (t) => {
    const session = await signIn(f.apacheBase, 'alice', users.alice.password);
    await warm(f.apacheBase, session);
    await warm(f.nginxBase, session);
    assert.equal((await logout(f.nginxBase, session)).status < 400, true);
    const ms = await refusedWithin(f.apacheBase, session, Date.now());
    t.diagnostic(`every Apache process refused it ${ms} ms after the logout on nginx answered`);
    assert.ok(ms < 100, `Apache saw the logout after ${ms} ms`);
  });

  it('a session made on Apache is valid on nginx', async () => {
    const session = await signIn(f.apacheBase, 'alice', users.alice.password);
    const seen = await app(f.nginxBase, session);
    assert.equal(seen.status, 200, seen.body);
    assert.equal(JSON.parse(seen.body).user, 'alice');
    assert.equal((await app(f.apacheBase, session)).status, 200);
  });

  it('a graceful restart stops the subscriber of every old child; the new children serve from the cache', async (t) => {
    const subscribers = () => Number(f.redis.cli('PUBSUB', 'NUMSUB', 'authgate:invalidate').split('\n')[1]);
    assert.equal(subscribers(), 4, '2 nginx workers and 2 Apache children');
    const old = f.apache.childPids();
    const t0 = Date.now();
    await f.apache.gracefulRestart();
    // The old children exit (each joining its subscriber thread); the new ones subscribe, one
    // each (the MPM may start fewer than before while their idle threads suffice).
    const fleet = () => 2 + f.apache.childPids().length;
    while (f.apache.childPids().some((p) => old.includes(p)) || f.apache.childPids().length === 0 ||
           subscribers() !== fleet()) {
      assert.ok(Date.now() - t0 < 5000, `old children ${f.apache.childPids()} / ${subscribers()} subscribers`);
      await new Promise((r) => setTimeout(r, 20));
    }
    t.diagnostic(`old children gone and new ones subscribed ${Date.now() - t0} ms after SIGUSR1`);
    const session = await signIn(f.nginxBase, 'bob', users.bob.password);
    await warm(f.apacheBase, session);
    assert.equal((await logout(f.nginxBase, session)).status < 400, true);
    const ms = await refusedWithin(f.apacheBase, session, Date.now());
    assert.ok(ms < 100, `Apache saw the logout after ${ms} ms`);
  });

  it('with session_cache=off Apache asks Redis on every request', async () => {
    const [port, backend] = await freePorts(2);
    const prefix = makePrefix();
    for (const file of ['authgate.key', 'users']) fs.copyFileSync(path.join(f.prefix, file), path.join(prefix, file));
    const echo = await startEcho(backend);
    const off = await new Apache(prefix, `AuthGateRedis 127.0.0.1:${f.redis.port} command_timeout=1s session_cache=off\n${gateConf(prefix, port, backend,
      '    <Location /app/>\n        AuthGate On\n    </Location>')}`, { port }).start();
    try {
      const base = `http://127.0.0.1:${port}`;
      const session = await signIn(f.nginxBase, 'bob', users.bob.password);
      assert.equal((await app(base, session)).status, 200);
      const before = gets();
      for (let i = 0; i < 10; i++) assert.equal((await app(base, session)).status, 200);
      assert.ok(gets() - before >= 10, `${gets() - before} GETs for 10 requests`);
      // No subscriber of its own: only the fleet's (2 nginx workers, one per Apache child).
      const numsub = () => Number(f.redis.cli('PUBSUB', 'NUMSUB', 'authgate:invalidate').split('\n')[1]);
      const t0 = Date.now();
      while (numsub() !== 2 + f.apache.childPids().length) {
        assert.ok(Date.now() - t0 < 2000, `${numsub()} subscribers for 2 nginx workers and ${f.apache.childPids().length} Apache children`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(off.badLogLines(), []);
    } finally {
      await off.stop();
      await echo.close();
      removePrefix(prefix);
    }
  });
});
