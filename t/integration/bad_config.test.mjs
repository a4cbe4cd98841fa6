// Bad configurations fail nginx -t with a precise message naming file and line (`# line: N` pins the line).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repo, modulePath } from './harness/env.mjs';
import { makePrefix, nginxTest, removePrefix } from './harness/nginx.mjs';

const dir = path.join(repo, 't/conf');
const fixtures = path.join(dir, 'fixtures');
const cases = fs.readdirSync(dir).filter((f) => f.endsWith('.conf')).sort();

describe('bad configurations', () => {
  it('has cases', () => assert.ok(cases.length >= 10));

  for (const file of cases) {
    it(`${file} is rejected`, () => {
      const source = fs.readFileSync(path.join(dir, file), 'utf8');
      const expect = source.match(/^# expect: (.+)$/m);
      assert.ok(expect, 'case states its expected message');
      const prefix = makePrefix('authgate-badconf');
      try {
        const conf = path.join(prefix, file);
        fs.writeFileSync(conf, source.replaceAll('@MODULE@', modulePath)
          .replaceAll('@PREFIX@', prefix).replaceAll('@FIXTURES@', fixtures));
        const r = nginxTest(prefix, conf);
        assert.notEqual(r.status, 0, `nginx -t accepted ${file}`);
        assert.ok(r.output.includes(expect[1]), `expected "${expect[1]}" in:\n${r.output}`);
        assert.match(r.output, /\[emerg\]/);
        assert.match(r.output, new RegExp(`${file.replace('.', '\\.')}(:\\d+)?`), 'names the file');
        // `# line: N` pins the line the message must name (the directive at fault).
        const line = source.match(/^# line: (\d+)$/m);
        if (line) assert.ok(r.output.includes(`${file}:${line[1]}`), `expected "${file}:${line[1]}" in:\n${r.output}`);
        assert.doesNotMatch(r.output, /signal|Sanitizer|\[alert\]/);
      } finally {
        removePrefix(prefix);
      }
    });
  }
});
