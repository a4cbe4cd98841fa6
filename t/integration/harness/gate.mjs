// A gated nginx with an echo backend, as most tests need it.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Nginx, echoServer, makePrefix, removePrefix } from './nginx.mjs';
import { freePorts } from './ports.mjs';
import { Redis, testStore } from './redis.mjs';
import { Apache, startEcho } from './apache.mjs';
import { apacheDirectives, apacheLocations } from './apache_conf.mjs';
import { testServer } from './env.mjs';

// `locations(backend)` returns extra location blocks; `http` extra http-level directives
// (a string, or a function of { port, base, prefix } for configs that need them).
// `setup(prefix)` runs before nginx starts (to write operator files); `prepare()` (async)
// runs first of all, for peers the config refers to (an IdP); `started(state)` (async) once
// nginx answers (to register its URLs with such a peer). Root-level hooks of one file may
// run concurrently: order-dependent steps belong in these. `redisArgs`: extra redis-server
// arguments when the suite runs on Redis (e.g. ['--maxmemory', '30mb']). `publicOrigin(port)`:
// the server's authgate_public_origin (default http://127.0.0.1:PORT).
// Under AUTHGATE_TEST_SERVER=apache the same server is Debian's apache2 (startApache below);
// `apache` gives the Apache form of `http`/`locations` where they are not plain authgate_*
// directives.
// `nginxOnly`: the file's config has no Apache form; on Apache nothing starts (its tests
// skip themselves with { skip: 'nginx config' }).
export function gatedServer(options = {}) {
  if (testServer === 'apache') return options.nginxOnly ? {} : gatedApache(options);
  const { http = '', locations = () => '', workers = 2, setup = () => {},
    prepare = async () => {}, started = async () => {}, redisArgs = [],
    publicOrigin = (port) => `http://127.0.0.1:${port}` } = options;
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

// The Apache equivalent of the nginx config above: one virtual host with `/` gated and
// proxied to the echo backend (X-Status from AUTHGATE_STATUS), `/public/` open and the
// endpoints under /_authgate/. `apache`: { http (server-level directives, a string or a
// function of { port, base, prefix }), locations(backend) (sections inside the virtual
// host, after the defaults), servers(ctx) (more virtual hosts), echo() (more echo backend
// ports to start), mpm ('event' | 'prefork'), processes }.
function gatedApache({ http = '', locations = () => '', setup = () => {}, prepare = async () => {},
  started = async () => {}, redisArgs = [], publicOrigin = (port) => `http://127.0.0.1:${port}`,
  apache } = {}) {
  const state = {};
  before(async () => {
    await prepare();
    const [port, backend] = await freePorts(2);
    const prefix = makePrefix();
    setup(prefix);
    const ctx = { port, base: `http://127.0.0.1:${port}`, prefix };
    let global;
    let sections = '';
    if (apache) {
      global = typeof apache.http === 'function' ? apache.http(ctx) : (apache.http ?? '');
      sections = apache.locations ? apache.locations(backend) : '';
    } else {
      global = apacheDirectives(typeof http === 'function' ? http(ctx) : http);
      sections = apacheLocations(locations(backend), backend);
      if (global === null || sections === null) {
        throw new Error('nginx-only config: give gatedServer an apache option or skip this test on Apache');
      }
    }
    let store = '';
    if (testStore === 'redis') {
      const redis = new Redis();
      redis.extraArgs = redisArgs;
      state.redis = await redis.start();
      store = `AuthGateRedis 127.0.0.1:${state.redis.port} command_timeout=1s`;
    }
    const conf = `
Listen 127.0.0.1:${port}
${store}
AuthGateKeyFile ${prefix}/authgate.key
AuthGateUsersFile ${prefix}/users
Header always set X-Status "%{AUTHGATE_STATUS}e" env=AUTHGATE_STATUS
${global}
<VirtualHost 127.0.0.1:${port}>
    AuthGatePublicOrigin ${publicOrigin(port)}
    <Location />
        AuthGate On
        ProxyPass http://127.0.0.1:${backend}/
    </Location>
    <Location /public/>
        AuthGate Off
    </Location>
    <Location /_authgate/>
        SetHandler authgate-endpoint
        ProxyPass !
    </Location>
${sections}
</VirtualHost>
${apache?.servers ? apache.servers(ctx) : ''}
`;
    Object.assign(state, { port, backend, prefix, base: ctx.base });
    state.echo = [await startEcho(backend)];
    for (const p of apache?.echo ? apache.echo() : []) state.echo.push(await startEcho(p));
    state.apache = await new Apache(prefix, conf, {
      port, mpm: apache?.mpm ?? 'event', processes: apache?.processes ?? 1,
    }).start();
    state.nginx = state.apache; // log(), stop() for tests that only use those
    await started(state);
  });
  after(async () => {
    const bad = state.apache ? state.apache.badLogLines() : [];
    if (state.apache) await state.apache.stop();
    for (const e of state.echo ?? []) await e.close();
    if (state.redis) await state.redis.stop();
    if (state.prefix) removePrefix(state.prefix);
    assert.deepEqual(bad, [], 'error.log must have no [emerg], [alert], [crit], crash or sanitizer lines');
  });
  return state;
}

// One gate for files that start their own servers (several on one Redis, Sentinel): on
// `port`, endpoints under /_authgate/, `/` gated and proxied to an echo backend on `backend`
// (started with it when `echo`; on nginx as a second server of the same nginx, on Apache in
// the test process). `directives`: http-level authgate_* statements (nginx syntax, turned
// into Apache's). `server`: 'nginx' or 'apache' (default: AUTHGATE_TEST_SERVER); `processes`:
// nginx workers or Apache child processes. Returns the server (stop, log, badLogLines) with
// `base`, `kind` and `processes`.
export async function startGate({ server = testServer, dir, port, backend, directives, echo = false,
  processes = 2 }) {
  const base = `http://127.0.0.1:${port}`;
  if (server === 'apache') {
    const global = apacheDirectives(directives);
    if (global === null) throw new Error(`no Apache form for: ${directives}`);
    const echoServerRunning = echo ? await startEcho(backend) : null;
    try {
      const apache = await new Apache(dir, `
Listen 127.0.0.1:${port}
${global}
<VirtualHost 127.0.0.1:${port}>
    AuthGatePublicOrigin ${base}
    <Location />
        AuthGate On
        ProxyPass http://127.0.0.1:${backend}/
    </Location>
    <Location /_authgate/>
        SetHandler authgate-endpoint
        ProxyPass !
    </Location>
</VirtualHost>
`, { port, processes }).start();
      const stop = apache.stop.bind(apache);
      apache.stop = async () => { await stop(); await echoServerRunning?.close(); };
      return Object.assign(apache, { base, kind: 'apache', processes });
    } catch (e) {
      await echoServerRunning?.close();
      throw e;
    }
  }
  const nginx = await new Nginx(dir, `
${directives}
    server {
        listen 127.0.0.1:${port};
        location /_authgate/ { authgate_endpoint; }
        location / { authgate on; add_header X-Worker $pid always; proxy_pass http://127.0.0.1:${backend}; }
    }
${echo ? echoServer(backend) : ''}`, { port, workers: processes }).start();
  return Object.assign(nginx, { base, kind: 'nginx', processes });
}
