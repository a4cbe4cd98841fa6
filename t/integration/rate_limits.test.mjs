// Issue 11: limit zones (GCRA) on a gated location and on an ungated API, counted exactly
// across two workers (and, with AUTHGATE_TEST_STORE=redis, in Redis), with 429 +
// Retry-After and the selected rate-limit headers; a dry run only sets $authgate_status.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

describe('rate limits', { skip: process.env.AUTHGATE_TEST_SERVER === 'apache' }, () => {
  const s = gatedServer({
    http: `
    authgate_limit_zone per_client key=client rate=10r/m burst=10;
    authgate_limit_zone per_user key=user rate=5r/m;
    authgate_limit_zone dry key=client rate=2r/m;
    authgate_limit_headers ietf trio x;`,
    locations: (backend) => `
        location /limited/ {
            authgate on;
            authgate_limit per_client;
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }
        location /mine/ {
            authgate on;
            authgate_limit per_user;
            proxy_pass http://127.0.0.1:${backend};
        }
        location /dry/ {
            authgate on;
            authgate_limit dry dry_run;
            add_header X-Status $authgate_status always;
            proxy_pass http://127.0.0.1:${backend};
        }`,
  });

  it('exactly the burst passes under concurrency, then 429 with Retry-After and headers', async () => {
    const cookie = await signIn(s.base, 'alice', users.alice.password);
    const headers = { Cookie: `authgate_session=${cookie}` };
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => request(s.base, '/limited/x', { headers })));
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(ok.length, 10, 'the burst, exactly');
    assert.equal(refused.length, 30);
    const r = refused[0];
    assert.ok(Number(r.headers['retry-after']) >= 1 && Number(r.headers['retry-after']) <= 6);
    assert.match(r.headers['ratelimit-policy'], /^"per_client";q=10;w=60$/);
    assert.match(r.headers.ratelimit, /^"per_client";r=0;t=\d+$/);
    assert.equal(r.headers['ratelimit-limit'], '10');
    assert.equal(r.headers['ratelimit-remaining'], '0');
    assert.ok(Number(r.headers['x-ratelimit-reset']) > Date.now() / 1000);
    assert.equal(r.headers['x-status'], 'rate_limited');
    const remaining = ok.map((a) => Number(a.headers['ratelimit-remaining'])).sort((a, b) => a - b);
    assert.deepEqual(remaining, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const api = await request(s.base, '/limited/x', { headers: { ...headers, Accept: 'application/json' } });
    assert.equal(api.status, 429);
    assert.equal(JSON.parse(api.body).errors[0].code, 'rate_limited');
  });

  it('a zone keyed by user counts each user apart', async () => {
    const alice = await signIn(s.base, 'alice', users.alice.password);
    const bob = await signIn(s.base, 'bob', users.bob.password);
    const get = (c) => request(s.base, '/mine/x', { headers: { Cookie: `authgate_session=${c}` } });
    const a = [];
    for (let i = 0; i < 7; i++) a.push((await get(alice)).status);
    assert.deepEqual(a, [200, 200, 200, 200, 200, 429, 429]);
    assert.equal((await get(bob)).status, 200);
  });

  it('a dry run lets everything through and only sets the status', async () => {
    const cookie = await signIn(s.base, 'alice', users.alice.password);
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const a = await request(s.base, '/dry/x', { headers: { Cookie: `authgate_session=${cookie}` } });
      statuses.push(`${a.status} ${a.headers['x-status']}`);
    }
    assert.deepEqual(statuses, ['200 allowed', '200 allowed', '200 rate_limited', '200 rate_limited']);
  });
});
