import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';
import { waitFor } from './redis.ts';

/** One redis-server of the cluster, with the role it has now. */
export interface ClusterNode {
  port: number;
  child: ChildProcess | undefined;
}

/**
 * A real Redis Cluster for a test file: three masters with one replica each, six `redis-server
 * --cluster-enabled yes` processes on free ports in a temporary directory, joined by `redis-cli --cluster create
 * --cluster-replicas 1`. `cluster-node-timeout` is 2 s, so a killed master's replica takes over within a few
 * seconds. Nothing is persisted (no AOF, no RDB): durability here comes from replication alone, which is what
 * the failover test is about. `close()` kills every process and removes the directory.
 */
export class RedisCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'mp-pay-cluster-'));
  readonly nodes: ClusterNode[] = [];

  /** The seed list for REDIS_CLUSTER_NODES / createRedisStore({ clusterNodes }). */
  get seeds(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  get seedList(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  async start(): Promise<void> {
    for (let i = 0; i < 6; i++) this.nodes.push({ port: await freePort(), child: undefined });
    for (const node of this.nodes) this.#spawn(node);
    for (const node of this.nodes) await waitFor(() => this.#ping(node.port), `redis-server on ${node.port}`);
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await this.waitHealthy();
  }

  /**
   * Every live node reports cluster_state:ok with all 16384 slots served and, unless `replicas` is false, every
   * master has a replica in sync.
   */
  async waitHealthy(timeoutMs = 30_000, replicas = true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        this.nodes.filter((n) => n.child !== undefined).map((n) => this.#info(n.port, 'CLUSTER', 'INFO')),
      );
      const ok = states.every((s) => /cluster_state:ok/.test(s) && /cluster_slots_ok:16384/.test(s));
      if (ok && (!replicas || (await this.#replicasOnline()))) return;
      if (Date.now() > deadline)
        throw new Error(`cluster not ok within ${timeoutMs} ms: ${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until a killed master's slots are served by another node (its replica, promoted) and the state is ok. */
  async waitPromoted(killedPort: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const masters = await this.masters();
        if (masters.length === 3 && !masters.some((m) => m.port === killedPort)) {
          return await this.waitHealthy(Math.max(1000, deadline - Date.now()), false);
        }
      } catch {
        // a node still answering with the dead master's map, or none answering yet: ask again
      }
      if (Date.now() > deadline)
        throw new Error(`no replica of ${killedPort} promoted within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every master has a replica whose initial sync is done (WAIT 1 can succeed). */
  async #replicasOnline(): Promise<boolean> {
    try {
      const masters = await this.masters();
      const infos = await Promise.all(masters.map((m) => this.#info(m.port, 'INFO', 'replication')));
      return infos.every((info) => /slave\d+:.*state=online/.test(info));
    } catch {
      return false;
    }
  }

  /** The ports of the nodes that are masters now, each with the slot ranges it serves. */
  async masters(): Promise<{ port: number; slots: [number, number][] }[]> {
    const live = this.nodes.find((n) => n.child !== undefined);
    if (!live) throw new Error('no live node');
    const redis = new Redis(live.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      const slots = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const byPort = new Map<number, [number, number][]>();
      for (const [from, to, [, port]] of slots) byPort.set(port, [...(byPort.get(port) ?? []), [from, to]]);
      return [...byPort].map(([port, ranges]) => ({ port, slots: ranges }));
    } finally {
      redis.disconnect();
    }
  }

  /** The port of the replica of the master on `masterPort` (from the master's INFO replication). */
  async replicaOf(masterPort: number): Promise<number> {
    const info = await this.#info(masterPort, 'INFO', 'replication');
    const port = /slave0:.*port=(\d+)/.exec(info)?.[1];
    if (port === undefined) throw new Error(`the master on ${masterPort} has no replica`);
    return Number(port);
  }

  /** SIGKILLs one node (a crash: no goodbye to the cluster). */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    const child = node?.child;
    if (!node || !child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    node.child = undefined;
  }

  /** Starts a killed node again: with its nodes.conf it rejoins, as a replica of whoever took over. */
  async restart(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    if (!node || node.child) return;
    this.#spawn(node);
    await waitFor(() => this.#ping(port), `redis-server on ${port} again`);
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.port)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  #spawn(node: ClusterNode): void {
    const p = String(node.port);
    node.child = spawn(
      'redis-server',
      [
        '--port',
        p,
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(this.dir, `nodes-${p}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--appendonly',
        'no',
        '--save',
        '',
        '--dir',
        this.dir,
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
  }

  async #ping(port: number): Promise<boolean> {
    try {
      return (await this.#info(port, 'PING')) === 'PONG';
    } catch {
      return false;
    }
  }

  async #info(port: number, ...command: string[]): Promise<string> {
    const redis = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    try {
      await redis.connect();
      return String(await redis.call(command[0] as string, ...command.slice(1)));
    } catch {
      return '';
    } finally {
      redis.disconnect();
    }
  }
}
