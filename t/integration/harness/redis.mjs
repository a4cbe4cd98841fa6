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
      '--appendonly', 'no', '--dir', this.dir, '--daemonize', 'no'], { stdio: 'ignore' });
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
      sock.once('data', (d) => { sock.destroy(); resolve(d.toString().startsWith('+PONG')); });
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

// Which store the shared session suite runs against (scripts/test runs it for both).
export const testStore = process.env.AUTHGATE_TEST_STORE === 'redis' ? 'redis' : 'shm';
