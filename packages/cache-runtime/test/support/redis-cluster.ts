import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {freePort, sendCommand, type RespValue} from './redis.js'

/**
 * A real Redis Cluster on loopback: `shards` redis-server processes with cluster-enabled,
 * each the primary of an even share of the 16384 slots, met and agreed (cluster_state:ok
 * on every node) before it is returned. What a sharded ElastiCache cache is to a client:
 * CLUSTER SLOTS from any node, MOVED for a key asked of the wrong shard.
 */
export interface RedisCluster {
  readonly nodes: ReadonlyArray<{readonly port: number; readonly id: string; readonly slots: readonly [number, number]}>
  /** REDIS_HOST/REDIS_PORT/REDIS_CLUSTER for a helper under test: the first node, as a configuration endpoint. */
  readonly env: {REDIS_HOST: string; REDIS_PORT: string; REDIS_CLUSTER: string}
  /** One command on the node serving `key`'s slot. */
  commandFor(key: string, ...args: Array<string | number>): Promise<RespValue>
  /** The index of the node (shard) whose slots hold `key`. */
  shardOf(key: string): Promise<number>
  /** Every node's replies to a command. */
  each(...args: Array<string | number>): Promise<RespValue[]>
  /** SIGSTOP node `index`: its sockets still accept connections (the kernel does), nothing answers. */
  pause(index: number): void
  /** SIGCONT: it answers again, with what it held. */
  resume(index: number): void
  close(): Promise<void>
}

const HOST = '127.0.0.1'
const SLOTS = 16384

/** Even slot ranges, as `redis-cli --cluster create` deals them. */
export function slotRanges(shards: number): Array<[number, number]> {
  return Array.from({length: shards}, (_, i) => [
    Math.floor((i * SLOTS) / shards),
    Math.floor(((i + 1) * SLOTS) / shards) - 1,
  ])
}

async function ok(port: number, args: Array<string | number>): Promise<RespValue> {
  const reply = await sendCommand(HOST, port, args)
  if (reply instanceof Error) throw new Error(`${args.join(' ')} on ${port}: ${reply.message}`)
  return reply
}

export async function startRedisCluster(shards = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'cct-redis-cluster-'))
  const children: ChildProcess[] = []
  const killAll = (): void => {
    for (const child of children) child.kill('SIGKILL')
  }
  process.once('exit', killAll)
  const ranges = slotRanges(shards)
  const nodes: Array<{port: number; id: string; slots: [number, number]}> = []
  const buses: number[] = []
  const processes: ChildProcess[] = []
  try {
    for (let i = 0; i < shards; i++) {
      const {port, bus, child} = await startNode(dir, children)
      buses.push(bus)
      processes.push(child)
      const id = String(await ok(port, ['CLUSTER', 'MYID']))
      await ok(port, ['CLUSTER', 'SET-CONFIG-EPOCH', i + 1])
      await ok(port, ['CLUSTER', 'ADDSLOTSRANGE', ...ranges[i]!])
      nodes.push({port, id, slots: ranges[i]!})
    }
    for (const node of nodes.slice(1)) await ok(node.port, ['CLUSTER', 'MEET', HOST, nodes[0]!.port, buses[0]!])
    await agreed(nodes.map((n) => n.port))
  } catch (error) {
    killAll()
    rmSync(dir, {recursive: true, force: true})
    throw error
  }

  const slotOf = async (key: string) => Number(await ok(nodes[0]!.port, ['CLUSTER', 'KEYSLOT', key]))
  const shardOf = async (key: string) => {
    const slot = await slotOf(key)
    return nodes.findIndex((n) => slot >= n.slots[0] && slot <= n.slots[1])
  }
  return {
    nodes,
    env: {REDIS_HOST: HOST, REDIS_PORT: String(nodes[0]!.port), REDIS_CLUSTER: 'true'},
    async commandFor(key, ...args) {
      return sendCommand(HOST, nodes[await shardOf(key)]!.port, args)
    },
    shardOf,
    each: (...args) => Promise.all(nodes.map((n) => sendCommand(HOST, n.port, args))),
    pause: (index) => processes[index]!.kill('SIGSTOP'),
    resume: (index) => processes[index]!.kill('SIGCONT'),
    async close() {
      const exits = children.map((child) =>
        child.exitCode === null && child.signalCode === null
          ? new Promise((resolve) => child.once('exit', resolve))
          : undefined,
      )
      killAll()
      await Promise.all(exits)
      process.removeListener('exit', killAll)
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

async function startNode(
  dir: string,
  children: ChildProcess[],
): Promise<{port: number; bus: number; child: ChildProcess}> {
  for (let attempt = 0; ; attempt++) {
    const [port, bus] = [await freePort(), await freePort()]
    const child = spawn(
      process.env.REDIS_SERVER_BIN ?? 'redis-server',
      [
        '--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
        '--dir', dir, '--loglevel', 'warning', '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000',
        // The bus on a port of its own: port + 10000 may be taken, or above 65535.
        '--cluster-port', String(bus),
      ], // prettier-ignore
      {stdio: ['ignore', 'ignore', 'pipe']},
    )
    children.push(child)
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && child.exitCode === null) {
      if ((await sendCommand(HOST, port, ['PING']).catch(() => undefined)) === 'PONG') return {port, bus, child}
      await sleep(25)
    }
    child.kill('SIGKILL')
    if (attempt >= 4) throw new Error(`redis-server (cluster node) did not start on ${port}`)
  }
}

/** Until every node says cluster_state:ok and knows every other node. */
async function agreed(ports: number[]): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const infos = await Promise.all(ports.map((port) => sendCommand(HOST, port, ['CLUSTER', 'INFO'])))
    const good = infos.every(
      (info) =>
        typeof info === 'string' &&
        info.includes('cluster_state:ok') &&
        info.includes(`cluster_known_nodes:${ports.length}`),
    )
    if (good) return
    await sleep(50)
  }
  throw new Error('redis cluster did not reach cluster_state:ok')
}
