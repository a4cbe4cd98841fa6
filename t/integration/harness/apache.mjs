// Starts and stops Debian's apache2 with mod_authgate in a temporary ServerRoot (its own
// PidFile, ErrorLog, runtime dir and port); an echo backend in the test process; scans
// error.log like the nginx side.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { apacheBin, apacheModulePath, apacheModulesDir } from './env.mjs';
import { serverEnv, waitForPort } from './nginx.mjs';

const modules = [
  'mpm_%MPM%', 'authn_core', 'authz_core', 'authz_user', 'headers', 'proxy', 'proxy_http',
  'include', 'mime', 'rewrite', 'alias', 'env', 'setenvif',
];

// The fixed head of every test config; `body` holds the servers.
export function apacheConfigText(prefix, body, { mpm = 'event', processes = 1, threads = 64 } = {}) {
  const asRoot = process.getuid && process.getuid() === 0;
  const loads = modules.map((m) => {
    const name = m.replace('%MPM%', mpm);
    return `LoadModule ${name}_module ${apacheModulesDir}/mod_${name}.so`;
  }).join('\n');
  const mpmConf = mpm === 'prefork'
    ? `StartServers ${processes}\nMinSpareServers ${processes}\nMaxSpareServers ${processes}\nServerLimit ${processes}\nMaxRequestWorkers ${processes}`
    : `ServerLimit ${processes}\nStartServers ${processes}\nThreadsPerChild ${threads}\nMinSpareThreads ${threads}\nMaxSpareThreads ${threads * processes}\nMaxRequestWorkers ${threads * processes}`;
  return `ServerRoot "${prefix}"
${loads}
LoadModule authgate_module ${apacheModulePath}
${asRoot ? 'User www-data\nGroup www-data' : ''}
ServerName 127.0.0.1
PidFile ${prefix}/apache.pid
DefaultRuntimeDir ${prefix}/run
ErrorLog ${prefix}/error.log
LogLevel info
DocumentRoot "${prefix}/htdocs"
TypesConfig /dev/null
# Clients reuse connections as they like (nginx closes one after 1000 requests, Apache's
# default is 100: a reused socket closed meanwhile is a "socket hang up" for the client).
MaxKeepAliveRequests 0
KeepAliveTimeout 60
${mpmConf}
${body}
`;
}

function prepareRoot(prefix) {
  for (const d of ['run', 'htdocs']) fs.mkdirSync(path.join(prefix, d), { recursive: true });
}

// `apache2 -t` on a config text; { status, output }.
export function apacheTest(prefix, body, opts = {}) {
  prepareRoot(prefix);
  const conf = path.join(prefix, 'apache-test.conf');
  fs.writeFileSync(conf, apacheConfigText(prefix, body, opts));
  const r = spawnSync(apacheBin, ['-t', '-f', conf], { encoding: 'utf8', env: serverEnv() });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, conf };
}

export class Apache {
  constructor(prefix, body, opts = {}) {
    this.prefix = prefix;
    this.conf = path.join(prefix, 'apache.conf');
    this.errorLog = path.join(prefix, 'error.log');
    this.port = opts.port;
    prepareRoot(prefix);
    fs.writeFileSync(this.conf, apacheConfigText(prefix, body, opts));
  }

  async start() {
    // Its own process group: prefork's parent signals its whole group when it stops.
    this.proc = spawn(apacheBin, ['-f', this.conf, '-DFOREGROUND'],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: serverEnv() });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => this.proc.once('exit', resolve));
    try {
      await Promise.race([
        this.ready(),
        this.exited.then((code) => { throw new Error(`exited with ${code}`); }),
      ]);
    } catch (e) {
      await this.stop();
      throw new Error(`apache2 did not start: ${e.message}\n${this.stderr}\n${this.log()}`);
    }
    return this;
  }

  // The port opens before the MPM has its signal handlers (a SIGUSR1 then would kill it):
  // ready once it logged "resuming normal operations" and a child runs.
  async ready() {
    await waitForPort(this.port);
    const deadline = Date.now() + 10000;
    while (!/resuming normal operations/.test(this.log()) || this.childPids().length === 0) {
      if (Date.now() > deadline) throw new Error('apache2 did not resume normal operations');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  childPids() {
    const r = spawnSync('pgrep', ['-P', String(this.proc.pid)], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean).map(Number).sort();
  }

  // A graceful restart (SIGUSR1 to the parent we started; SIGHUP: the restart that stops
  // the children at once); waits for new children.
  async gracefulRestart(signal = 'SIGUSR1') {
    const before = this.childPids();
    const generations = (this.log().match(/resuming normal operations/g) || []).length;
    this.proc.kill(signal);
    const deadline = Date.now() + 10000;
    for (;;) {
      const now = this.childPids();
      const resumed = (this.log().match(/resuming normal operations/g) || []).length > generations;
      if (resumed && now.length > 0 && now.some((p) => !before.includes(p))) return now;
      if (Date.now() > deadline) throw new Error(`no new children after a graceful restart\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async hupRestart() {
    return this.gracefulRestart('SIGHUP');
  }

  // What `nginx -s reload` is to the nginx harness: a graceful restart (the embedded
  // store's shared memory is kept across it, as nginx keeps its zone).
  async reload() {
    return this.gracefulRestart();
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 8000);
    await this.exited;
    clearTimeout(timer);
  }

  log() {
    return fs.existsSync(this.errorLog) ? fs.readFileSync(this.errorLog, 'utf8') : '';
  }

  // Lines that fail a test file: crashes, config errors, internal errors, sanitizer reports.
  badLogLines() {
    return this.log().split('\n').filter((l) =>
      /\[[a-z_]*:(alert|emerg|crit)\]|Sanitizer|runtime error|Segmentation fault|exit signal|internal error/.test(l));
  }
}

// An echo backend in this process: answers every request with the headers it received
// as JSON (the fields of the nginx echo server and of stripped_everywhere's second one).
export function startEcho(port) {
  const server = http.createServer((req, res) => {
    // A header sent as X_Auth_User counts too: CGI-like upstreams read both spellings alike.
    const h = (name) => {
      const spellings = name.includes('-') ? [name, name.replaceAll('-', '_')] : [name];
      const values = spellings.map((n) => req.headers[n]).flat()
        .filter((v) => v !== undefined);
      return values.join('; ');
    };
    const body = JSON.stringify({
      user: h('x-auth-user'), email: h('x-auth-email'), name: h('x-auth-name'),
      groups: h('x-auth-groups'), roles: h('x-auth-roles'), remote: h('x-remote-user'), remote_email: h('x-remote-email'),
      remote_groups: h('x-remote-groups'), cookie: h('cookie'), uri: req.url,
    });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({
      port,
      close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
    }));
  });
}
