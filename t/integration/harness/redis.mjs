// A real redis-server on a free loopback port, started and stopped by the test.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.mjs';

export class Redis {
  async start(port) {
    this.port = port ?? this.port ?? await freePort();
    this.dir = this.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'authgate-redis-'));
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--dir', this.dir, '--daemonize', 'no', '--repl-diskless-sync-delay', '0', ...(this.extraArgs ?? [])], { stdio: 'ignore' });
    this.exited = new Promise((resolve) => this.proc.once('exit', resolve));
    const deadline = Date.now() + 5000;
    while (!(await this.ping())) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 30));
    }
    return this;
  }

  ping() {
    return new Promise((resolve) => {
      const sock = net.connect(this.port, '127.0.0.1');
      sock.setTimeout(300);
      sock.once('connect', () => sock.write('PING\r\n'));
      sock.once('data', (d) => { sock.destroy(); resolve(/^(\+PONG|-NOAUTH)/.test(d.toString())); });
      sock.once('error', () => resolve(false));
      sock.once('timeout', () => { sock.destroy(); resolve(false); });
    });
  }

  cli(...args) {
    const r = spawnSync('redis-cli', ['-p', String(this.port), '--raw', ...args], { encoding: 'utf8' });
    return r.stdout.trim();
  }

  async kill() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  pause() { this.proc.kill('SIGSTOP'); }
  resume() { this.proc.kill('SIGCONT'); }

  async stop() {
    if (this.proc && this.proc.exitCode === null && !this.proc.signalCode) {
      this.resume();
      await this.kill();
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// A replica of `master`.
export function replicaOf(master) {
  const r = new Redis();
  r.extraArgs = ['--replicaof', '127.0.0.1', String(master.port)];
  return r;
}

// A sentinel watching `master` under the name `name` (quorum 2, fast failure detection).
export class Sentinel {
  async start(master, name) {
    this.port = await freePort();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authgate-sentinel-'));
    const conf = path.join(this.dir, 'sentinel.conf');
    fs.writeFileSync(conf, [
      `port ${this.port}`, 'bind 127.0.0.1', 'daemonize no', `dir ${this.dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
      `sentinel down-after-milliseconds ${name} 400`,
      `sentinel failover-timeout ${name} 2000`,
      `sentinel parallel-syncs ${name} 1`, '',
    ].join('\n'));
    this.proc = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    this.exited = new Promise((resolve) => this.proc.once('exit', resolve));
    const probe = new Redis();
    probe.port = this.port;
    const deadline = Date.now() + 5000;
    while (!(await probe.ping())) {
      if (Date.now() > deadline) throw new Error('sentinel did not start');
      await new Promise((r) => setTimeout(r, 30));
    }
    this.probe = probe;
    return this;
  }

  master(name) {
    return this.probe.cli('SENTINEL', 'get-master-addr-by-name', name).split('\n');
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null && !this.proc.signalCode) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// Which store the shared session suite runs against (scripts/test runs it for both).
export const testStore = process.env.AUTHGATE_TEST_STORE === 'redis' ? 'redis' : 'shm';
