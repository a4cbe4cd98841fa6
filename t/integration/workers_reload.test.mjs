// The shared-memory store serves every worker and survives nginx -s reload.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatedServer } from './harness/gate.mjs';
import { testServer } from './harness/env.mjs';
import { request, signIn } from './harness/http.mjs';
import { users } from './harness/fixtures.mjs';

// nginx workers, told apart by X-Worker; Apache's processes: apache_module.test.mjs.
describe('workers and reload', { skip: testServer === 'apache' && 'nginx workers (X-Worker)' }, () => {
  const s = gatedServer({ workers: 2, nginxOnly: testServer === 'apache' });

  async function workersSeen(session) {
    const pids = new Set();
    for (let i = 0; i < 300 && pids.size < 2; i++) {
      const res = await request(s.base, '/app', { headers: { Cookie: `authgate_session=${session}` } });
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).user, 'alice');
      pids.add(res.headers['x-worker']);
    }
    return pids;
  }

  it('accepts the session on both workers', async () => {
    const session = await signIn(s.base, 'alice', users.alice.password);
    const pids = await workersSeen(session);
    assert.equal(pids.size, 2, 'both workers answered with the session');
  });

  it('keeps sessions across a reload', async () => {
    const session = await signIn(s.base, 'alice', users.alice.password);
    const fresh = await s.nginx.reload();
    assert.equal(fresh.length, 2);
    const pids = await workersSeen(session);
    for (const pid of pids) assert.ok(fresh.includes(Number(pid)), 'answered by a new worker');
  });
});
