// The IdP's https endpoints are verified: a JWKS served with a certificate from a private
// CA is refused with the system's CAs (502, fail closed) and accepted with ca_file= naming
// that CA; a ca_file without a certificate fails nginx -t.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Nginx, configText, echoServer, makePrefix, nginxTest, removePrefix } from './harness/nginx.mjs';
import { freePorts } from './harness/ports.mjs';
import { writeKeyFile } from './harness/fixtures.mjs';
import { startIdp } from './harness/idp.mjs';
import { request } from './harness/http.mjs';

const s = {};
before(async () => {
  s.idp = await startIdp();  // its keys sign the tokens; its JWKS is served over TLS below
  const [port, tlsPort, backend] = await freePorts(3);
  s.prefix = makePrefix('authgate-ssotls');
  writeKeyFile(path.join(s.prefix, 'authgate.key'));
  fs.writeFileSync(path.join(s.prefix, 'idp.secret'), 'unused');
  const key = path.join(s.prefix, 'idp-tls.key');
  s.crt = path.join(s.prefix, 'idp-tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', s.crt,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  fs.mkdirSync(path.join(s.prefix, 'idp'));
  fs.writeFileSync(path.join(s.prefix, 'idp', 'jwks.json'), JSON.stringify(s.idp.publicJwks()));
  const tls = `https://127.0.0.1:${tlsPort}`;
  const provider = (name, extra) => `
    authgate_oidc_provider ${name} issuer=${s.idp.issuer} discovery=off client_id=api
        client_secret_file=${s.prefix}/idp.secret authorization_endpoint=${tls}/auth
        token_endpoint=${tls}/token jwks_uri=${tls}/jwks.json ${extra};`;
  s.conf = `
    authgate_key_file ${s.prefix}/authgate.key;
    ${provider('private', `ca_file=${s.crt}`)}
    ${provider('system', '')}
    server {
        listen 127.0.0.1:${port};
        location /private/ { authgate_bearer private audience=api; proxy_pass http://127.0.0.1:${backend}; }
        location /system/ { authgate_bearer system audience=api; proxy_pass http://127.0.0.1:${backend}; }
    }
    server {
        listen 127.0.0.1:${tlsPort} ssl;
        ssl_certificate ${s.crt}; ssl_certificate_key ${key};
        root ${s.prefix}/idp;
        location = /jwks.json { default_type application/json; }
    }
${echoServer(backend)}`;
  s.base = `http://127.0.0.1:${port}`;
  s.nginx = await new Nginx(s.prefix, s.conf, { port }).start();
});
after(async () => {
  const bad = s.nginx ? s.nginx.badLogLines() : [];
  if (s.nginx) await s.nginx.stop();
  if (s.idp) await s.idp.stop();
  if (s.prefix) removePrefix(s.prefix);
  assert.deepEqual(bad, []);
});

async function token() {
  const now = Math.floor(Date.now() / 1000);
  return s.idp.sign({ iss: s.idp.issuer, aud: 'api', sub: 'svc-1', iat: now, exp: now + 300 });
}

test('JWKS over https from a private CA: trusted with ca_file, refused without', async () => {
  const t = await token();
  const ok = await request(s.base, '/private/x', { headers: { authorization: `Bearer ${t}` } });
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.body).user, 'svc-1');
  const refused = await request(s.base, '/system/x', { headers: { authorization: `Bearer ${t}` } });
  assert.equal(refused.status, 502);
  const log = s.nginx.log();
  assert.match(log, /provider "system": JWKS https:\/\/127\.0\.0\.1:\d+\/jwks\.json: .*(certificate|SSL)/i);
});

test('a ca_file without a certificate fails nginx -t', () => {
  fs.writeFileSync(path.join(s.prefix, 'empty.pem'), 'not a certificate\n');
  const conf = path.join(s.prefix, 'bad.conf');
  fs.writeFileSync(conf, configText(s.prefix, s.conf.replace(`ca_file=${s.crt}`, `ca_file=${s.prefix}/empty.pem`)));
  const r = nginxTest(s.prefix, conf);
  assert.notEqual(r.status, 0);
  assert.match(r.output, /authgate_oidc_provider private: ca_file ".*empty\.pem": no PEM certificate in it/);
});
