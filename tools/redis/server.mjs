// A real redis-server (Debian's package) on a free loopback port with its own temporary folder and no
// persistence (a restart loses every job, as a server restarted without persistence does), for the queue
// tests and the queue benchmark. Never for production: there, Redis is the lab's own.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function redisServerAvailable() {
  return spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** @returns {Promise<number>} a loopback port nothing listens on now */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(port, password, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start: ${error.message}`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
}

/**
 * @param {{ password?: string }} [opts]
 * @returns {Promise<{ port: number, url: string, restart(): Promise<void>, stop(): Promise<void> }>}
 *   url: redis://[:password@]127.0.0.1:port; restart: SIGKILL (nothing saved), then a new empty server on
 *   the same port.
 */
export async function startRedis(opts = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sgdwalk-redis-'));
  let server;
  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    if (opts.password) args.push('--requirepass', opts.password);
    server = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPing(port, opts.password);
  };
  const kill = () =>
    new Promise((resolve) => {
      if (server.exitCode !== null || server.signalCode !== null) return resolve();
      server.once('exit', () => resolve());
      server.kill('SIGKILL');
    });
  await launch();
  return {
    port,
    url: `redis://${opts.password ? `:${opts.password}@` : ''}127.0.0.1:${port}`,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
