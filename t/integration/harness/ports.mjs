// Free loopback ports.
//
// Picked at random below the kernel's ephemeral range (outgoing connections take their
// source ports from there: a port the kernel handed out for bind(0) could be taken by a
// client connection before the server under test binds it, and integration passes run
// side by side). Each candidate is bound once to check that it is free.
import fs from 'node:fs';
import net from 'node:net';

function ephemeralStart() {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(low) || 32768;
  } catch {
    return 32768;
  }
}

const low = 10000;
const high = Math.max(low + 1000, ephemeralStart());
const handedOut = new Set(); // this process never hands out the same port twice

function bindable(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function freePort() {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port found');
}

export async function freePorts(n) {
  const ports = [];
  while (ports.length < n) ports.push(await freePort());
  return ports;
}
