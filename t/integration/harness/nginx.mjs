// Starts and stops real nginx with the module in a temporary prefix; scans error.log.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { modulePath, nginxBin } from './env.mjs';
import { writeFixtures } from './fixtures.mjs';

export function makePrefix(tag = 'authgate') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-`));
  fs.chmodSync(dir, 0o755);  // workers may run as nobody when tests run as root
  fs.mkdirSync(path.join(dir, 'tmp'));
  writeFixtures(dir);
  return dir;
}

// The fixed head of every test config; `http` is the body of the http block.
export function configText(prefix, http, { workers = 2 } = {}) {
  return `load_module ${modulePath};
worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path ${prefix}/tmp/body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
${http}
}
`;
}

// The backend server block: echoes what the upstream received as JSON.
export function echoServer(port) {
  return `
    server {
        listen 127.0.0.1:${port};
        location / {
            default_type application/json;
            return 200 '{"user":"$http_x_auth_user","email":"$http_x_auth_email","name":"$http_x_auth_name","groups":"$http_x_auth_groups","roles":"$http_x_auth_roles","remote":"$http_x_remote_user","cookie":"$http_cookie","uri":"$request_uri"}';
        }
    }`;
}

export function waitForPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.destroy(); resolve(); });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} did not open`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

// AUTHGATE_NGINX_PRELOAD (e.g. the ASan runtime, for a sanitizer build of the modules) is
// preloaded into every nginx and apache2 the tests start.
export function serverEnv() {
  const preload = process.env.AUTHGATE_NGINX_PRELOAD;
  if (!preload) return process.env;
  return {
    ...process.env,
    LD_PRELOAD: preload,
    ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0:halt_on_error=0:detect_odr_violation=0',
    UBSAN_OPTIONS: 'print_stacktrace=1',
  };
}

export function nginxTest(prefix, confFile) {
  const r = spawnSync(nginxBin, ['-t', '-p', prefix, '-c', confFile, '-e', path.join(prefix, 'test.log')],
    { encoding: 'utf8', env: serverEnv() });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export class Nginx {
  constructor(prefix, http, opts = {}) {
    this.prefix = prefix;
    this.conf = path.join(prefix, 'nginx.conf');
    this.errorLog = path.join(prefix, 'error.log');
    fs.writeFileSync(this.conf, configText(prefix, http, opts));
    this.port = opts.port;
  }

  async start() {
    const args = ['-p', this.prefix, '-c', this.conf, '-e', this.errorLog, '-g', 'daemon off;'];
    this.proc = spawn(nginxBin, args, { stdio: ['ignore', 'ignore', 'pipe'], env: serverEnv() });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => this.proc.once('exit', resolve));
    try {
      await Promise.race([
        waitForPort(this.port),
        this.exited.then((code) => { throw new Error(`exited with ${code}`); }),
      ]);
    } catch (e) {
      await this.stop();  // never leave a half-started nginx behind
      throw new Error(`nginx did not start: ${this.stderr}\n${this.log()}`);
    }
    return this;
  }

  workerPids() {
    const r = spawnSync('pgrep', ['-P', String(this.proc.pid)], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean).map(Number).sort();
  }

  // Reloads the way operators do (`nginx -s reload`: a signaller process that loads the
  // module and parses the config), then waits until every worker has been replaced.
  async reload() {
    const before = this.workerPids();
    const r = spawnSync(nginxBin, ['-p', this.prefix, '-c', this.conf, '-e', this.errorLog, '-s', 'reload'],
      { encoding: 'utf8', env: serverEnv() });
    if (r.status !== 0) throw new Error(`nginx -s reload failed (${r.status}): ${r.stdout}${r.stderr}`);
    const deadline = Date.now() + 10000;
    for (;;) {
      const now = this.workerPids();
      if (now.length > 0 && now.every((p) => !before.includes(p))) return now;
      if (Date.now() > deadline) throw new Error('workers were not replaced after reload');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGQUIT');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  log() {
    return fs.existsSync(this.errorLog) ? fs.readFileSync(this.errorLog, 'utf8') : '';
  }

  // Lines that fail a test file: crashes, alerts, config errors, sanitizer reports.
  badLogLines() {
    return this.log().split('\n').filter((l) => /\[(alert|emerg)\]|Sanitizer|runtime error|signal 11|core dumped/.test(l));
  }
}

export function removePrefix(prefix) {
  fs.rmSync(prefix, { recursive: true, force: true });
}
