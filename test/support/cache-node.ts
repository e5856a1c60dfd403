/**
 * The sandbox's cache nodes as a test sees them: the endpoint names cct writes into
 * REDIS_HOST and the real redis-server behind each (GET /cct-fidelity/caches), and the
 * independent count of what each served (redis INFO).
 */
import assert from 'node:assert/strict'
import {connect as netConnect, type Socket} from 'node:net'
import {connect as tlsConnect} from 'node:tls'

export interface CacheNode {
  group_id: string
  node_id: string
  hostname: string
  /** 127.0.0.1:<port> of the redis-server. */
  real: string
  tls: boolean
  kind: 'node' | 'primary' | 'reader'
  role: string
}

/** The stack's primary node. */
export async function primaryNode(endpoint: string): Promise<CacheNode> {
  const nodes = (await (await fetch(`${endpoint}/cct-fidelity/caches`)).json()) as CacheNode[]
  const primary = nodes.find((n) => n.kind === 'primary')
  assert.ok(primary, JSON.stringify(nodes))
  return primary
}

/** keyspace_hits / keyspace_misses from the node's INFO stats, asked over its own TLS (verified) when it has it. */
export async function keyspace(endpoint: string, node: CacheNode): Promise<{hits: number; misses: number}> {
  const [host, port] = [node.real.split(':')[0]!, Number(node.real.split(':')[1])]
  const ca = node.tls ? await fetch(`${endpoint}/cct-fidelity/ca`).then((r) => r.text()) : undefined
  const info = await new Promise<string>((resolve, reject) => {
    const socket: Socket = node.tls ? tlsConnect({host, port, ca, servername: node.hostname}) : netConnect({host, port})
    let out = ''
    socket.once(node.tls ? 'secureConnect' : 'connect', () => socket.write('INFO stats\r\n'))
    socket.on('data', (c) => {
      out += c.toString()
      if (!/keyspace_misses:\d+\r\n/.test(out)) return
      socket.destroy()
      resolve(out)
    })
    socket.on('error', reject)
  })
  const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)![1])
  return {hits: field('keyspace_hits'), misses: field('keyspace_misses')}
}
