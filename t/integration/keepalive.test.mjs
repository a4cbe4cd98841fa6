// Requests on one keep-alive connection, as browsers send them: each waits for its own
// store answer (regression: on Redis, a writable keep-alive connection woke the parked flow
// before Redis answered, and every request after the first got a 503).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gatedServer } from './harness/gate.mjs';
import { signIn } from './harness/http.mjs';

const gate = gatedServer({ workers: 1 });

function get(agent, path, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${gate.base}${path}`, { agent, headers: { cookie } }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body, socket: req.socket }));
    });
    req.on('error', reject);
  });
}

test('ten gated requests on one connection all pass, with the identity', async () => {
  const session = await signIn(gate.base, 'alice', 'alice-pass-1');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const sockets = new Set();
    for (let i = 0; i < 10; i++) {
      const res = await get(agent, `/app/${i}`, `authgate_session=${session}`);
      assert.equal(res.status, 200, `request ${i}: ${res.body.slice(0, 120)}`);
      assert.equal(JSON.parse(res.body).user, 'alice');
      sockets.add(res.socket);
    }
    assert.equal(sockets.size, 1, 'all requests used one connection');
    // A request without a session on the same connection is still refused.
    const anon = await get(agent, '/app/x', '');
    assert.equal(anon.status, 302);
  } finally {
    agent.destroy();
  }
});
