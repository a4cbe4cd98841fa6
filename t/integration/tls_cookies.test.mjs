// Under TLS the cookies are Secure and __Host- prefixed; a cookie domain drops the prefix.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Nginx, echoServer, makePrefix, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { cookieValue, form, request } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

describe('cookies under TLS', () => {
  const s = {};
  before(async () => {
    const [port, domainPort, backend] = await freePorts(3);
    s.prefix = makePrefix('authgate-tls');
    const key = path.join(s.prefix, 'tls.key');
    const crt = path.join(s.prefix, 'tls.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt,
      '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const tls = `ssl_certificate ${crt}; ssl_certificate_key ${key};`;
    s.nginx = await new Nginx(s.prefix, `
    authgate_key_file ${s.prefix}/authgate.key;
    authgate_users_file ${s.prefix}/users;
    server {
        listen 127.0.0.1:${port} ssl; ${tls}
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; proxy_pass http://127.0.0.1:${backend}; }
    }
    server {
        listen 127.0.0.1:${domainPort} ssl; ${tls}
        authgate_cookie_domain example.test;
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; proxy_pass http://127.0.0.1:${backend}; }
    }
${echoServer(backend)}`, { port, workers: 1 }).start();
    s.base = `https://127.0.0.1:${port}`;
    s.domainBase = `https://127.0.0.1:${domainPort}`;
  });
  after(async () => {
    const bad = s.nginx ? s.nginx.badLogLines() : [];
    await s.nginx?.stop();
    if (s.prefix) removePrefix(s.prefix);
    assert.deepEqual(bad, []);
  });

  async function signInTls(base, csrfName, sessionName) {
    const page = await request(base, '/_authgate/login');
    const csrfSet = page.setCookies.find((c) => c.startsWith(`${csrfName}=`));
    assert.ok(csrfSet, `${csrfName} set`);
    assert.match(csrfSet, /; Secure/);
    const csrf = page.body.match(/name="csrf" value="([^"]+)"/)[1];
    const res = await request(base, '/_authgate/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `${csrfName}=${cookieValue(page.setCookies, csrfName)}` },
      body: form({ username: 'alice', password: users.alice.password, csrf, rd: '/' }),
    });
    assert.equal(res.status, 303);
    const set = res.setCookies.find((c) => c.startsWith(`${sessionName}=`));
    assert.ok(set, `${sessionName} set`);
    return { set, value: cookieValue(res.setCookies, sessionName) };
  }

  it('uses __Host- prefixed Secure cookies without a Domain', async () => {
    const { set, value } = await signInTls(s.base, '__Host-authgate_csrf', '__Host-authgate_session');
    assert.match(set, /; Path=\/;/);
    assert.match(set, /; Secure/);
    assert.match(set, /; HttpOnly/);
    assert.doesNotMatch(set, /Domain=/);
    const ok = await request(s.base, '/app', { headers: { Cookie: `__Host-authgate_session=${value}` } });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).cookie, '', 'the gate cookie is not passed upstream');
    const plain = await request(s.base, '/app', { headers: { Cookie: `authgate_session=${value}` } });
    assert.equal(plain.status, 302, 'the unprefixed name is not accepted under TLS');
  });

  it('uses the plain name with a Domain attribute when a cookie domain is set', async () => {
    const { set } = await signInTls(s.domainBase, '__Host-authgate_csrf', 'authgate_session');
    assert.match(set, /; Domain=example\.test/);
    assert.match(set, /; Secure/);
  });
});
