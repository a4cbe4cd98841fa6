// A gated nginx with an echo backend, as most tests need it.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Nginx, echoServer, makePrefix, removePrefix } from './nginx.mjs';
import { freePorts } from './ports.mjs';
import { Redis, testStore } from './redis.mjs';

// `locations(backend)` returns extra location blocks; `http` extra http-level directives
// (a string, or a function of { port, base, prefix } for configs that need them).
// `setup(prefix)` runs before nginx starts (to write operator files); `prepare()` (async)
// runs first of all, for peers the config refers to (an IdP); `started(state)` (async) once
// nginx answers (to register its URLs with such a peer). Root-level hooks of one file may
// run concurrently: order-dependent steps belong in these. `redisArgs`: extra redis-server
// arguments when the suite runs on Redis (e.g. ['--maxmemory', '30mb']). `publicOrigin(port)`:
// the server's authgate_public_origin (default http://127.0.0.1:PORT).
export function gatedServer({ http = '', locations = () => '', workers = 2, setup = () => {},
  prepare = async () => {}, started = async () => {}, redisArgs = [],
  publicOrigin = (port) => `http://127.0.0.1:${port}` } = {}) {
  const state = {};
  before(async () => {
    await prepare();
    const [port, backend] = await freePorts(2);
    const prefix = makePrefix();
    setup(prefix);
    const httpConf = typeof http === 'function'
      ? http({ port, base: `http://127.0.0.1:${port}`, prefix }) : http;
    let store = '';
    if (testStore === 'redis') {
      const redis = new Redis();
      redis.extraArgs = redisArgs;
      state.redis = await redis.start();
      store = `authgate_redis 127.0.0.1:${state.redis.port} command_timeout=1s;`;
    }
    const conf = `
    ${store}
    authgate_key_file ${prefix}/authgate.key;
    authgate_users_file ${prefix}/users;
${httpConf}
    server {
        listen 127.0.0.1:${port};
        authgate_public_origin ${publicOrigin(port)};
        location /_authgate/ { authgate_endpoint; }
        location / {
            authgate on;
            add_header X-Status $authgate_status always;
            add_header X-Worker $pid always;
            proxy_pass http://127.0.0.1:${backend};
        }
        location /public/ { proxy_pass http://127.0.0.1:${backend}; }
${locations(backend)}
    }
${echoServer(backend)}`;
    Object.assign(state, { port, backend, prefix, base: `http://127.0.0.1:${port}` });
    state.nginx = await new Nginx(prefix, conf, { port, workers }).start();
    await started(state);
  });
  after(async () => {
    const bad = state.nginx ? state.nginx.badLogLines() : [];
    if (state.nginx) await state.nginx.stop();
    if (state.redis) await state.redis.stop();
    if (state.prefix) removePrefix(state.prefix);
    assert.deepEqual(bad, [], 'error.log must have no [alert], [emerg] or sanitizer lines');
  });
  return state;
}
