import { createServer } from 'node:net';

/**
 * A port nothing listens on right now, for a child process (redis-server, a server process) that must be told
 * its port up front and cannot report the one it got from port 0.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
