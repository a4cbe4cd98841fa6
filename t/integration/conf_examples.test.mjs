// Every file in conf-examples/ passes nginx -t with the module.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repo, modulePath } from './harness/env.mjs';
import { makePrefix, nginxTest, removePrefix } from './harness/nginx.mjs';

const dir = path.join(repo, 'conf-examples');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.conf')).sort();

describe('conf-examples', () => {
  it('has examples', () => assert.ok(files.length > 0));

  for (const file of files) {
    it(`${file} passes nginx -t`, () => {
      const prefix = makePrefix('authgate-example');
      try {
        const text = fs.readFileSync(path.join(dir, file), 'utf8')
          .replaceAll('/etc/authgate/', `${prefix}/`)
          .replace(/load_module\s+\S+;/, `load_module ${modulePath};`);
        fs.writeFileSync(path.join(prefix, 'redis.pw'), 'example-redis-password\n', { mode: 0o600 });
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
