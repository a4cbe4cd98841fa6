// Every file in conf-examples/ passes nginx -t with the module (with stand-ins for the secret files it names).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repo, modulePath } from './harness/env.mjs';
import { makePrefix, nginxTest, removePrefix } from './harness/nginx.mjs';
import { apacheTest } from './harness/apache.mjs';

const dir = path.join(repo, 'conf-examples');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.conf')).sort();

describe('conf-examples', () => {
  it('has examples', () => assert.ok(files.length > 0));

  it('has an SSO example per provider preset, each using that preset', () => {
    for (const preset of ['generic', 'google', 'entra', 'okta', 'auth0', 'keycloak']) {
      const file = `sso-${preset}.conf`;
      assert.ok(files.includes(file), `missing conf-examples/${file}`);
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      assert.match(text, /authgate_oidc_provider\s/, file);
      if (preset !== 'generic') assert.match(text, new RegExp(`preset=${preset}\\b`), file);
    }
  });

  for (const file of files) {
    it(`${file} passes nginx -t`, () => {
      const prefix = makePrefix('authgate-example');
      try {
        const text = fs.readFileSync(path.join(dir, file), 'utf8')
          .replaceAll('/etc/authgate/', `${prefix}/`)
          .replace(/load_module\s+\S+;/, `load_module ${modulePath};`);
        fs.writeFileSync(path.join(prefix, 'redis.pw'), 'example-redis-password\n', { mode: 0o600 });
        // OIDC client secrets the example names (under /etc/authgate/, now the prefix).
        for (const [, file] of text.matchAll(/client_secret_file=([^\s;"]+)/g)) {
          assert.ok(file.startsWith(`${prefix}/`), `${file}: secrets belong in /etc/authgate/`);
          fs.writeFileSync(file, 'example-client-secret-0123456789\n', { mode: 0o600 });
        }
        const conf = path.join(prefix, file);
        fs.writeFileSync(conf, text);
        const r = nginxTest(prefix, conf);
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /test is successful/);
      } finally {
        removePrefix(prefix);
      }
    });
  }
});

// conf-examples/apache/: each passes `apache2 -t` with mod_authgate (LoadModule and the
// process-level lines come from the harness's head; secrets are stand-ins).
const apacheDir = path.join(dir, 'apache');
const apacheFiles = fs.existsSync(apacheDir)
  ? fs.readdirSync(apacheDir).filter((f) => f.endsWith('.conf')).sort() : [];

describe('conf-examples/apache', () => {
  it('has examples', () => assert.ok(apacheFiles.length > 0));

  for (const file of apacheFiles) {
    it(`apache/${file} passes apache2 -t`, () => {
      const prefix = makePrefix('authgate-example');
      try {
        const text = fs.readFileSync(path.join(apacheDir, file), 'utf8')
          .replaceAll('/etc/authgate/', `${prefix}/`)
          .replace(/^LoadModule authgate_module .*$/m, '');
        fs.writeFileSync(path.join(prefix, 'redis.pw'), 'example-redis-password\n', { mode: 0o600 });
        for (const [, secret] of text.matchAll(/client_secret_file=([^\s"]+)/g)) {
          fs.writeFileSync(secret, 'example-client-secret-0123456789\n', { mode: 0o600 });
        }
        const r = apacheTest(prefix, `Listen 127.0.0.1:8080\n${text}`);
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /Syntax OK/);
      } finally {
        removePrefix(prefix);
      }
    });
  }
});
