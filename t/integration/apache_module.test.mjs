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
import { request, signIn } from './harness/http.mjs';
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
    assert.match(r.output, /Configuration check failed/);
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
    const out = await request(s.base, '/_authgate/logout', { method: 'POST', ...cookie });
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
