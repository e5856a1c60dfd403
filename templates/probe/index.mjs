// cct's in-VPC probe: `cct verify` invokes it inside the stack's subnets and lambda group,
// where the cache answers, and it reports each hop on its own (DNS, TCP, TLS, AUTH,
// command, DynamoDB) so a failure says which one broke. No dependency but Node and the
// AWS SDK the Lambda runtime provides: a probe that needs the thing it probes proves little.
import {promises as dns} from 'node:dns'
import {connect as tcpConnect} from 'node:net'
import {connect as tlsConnect} from 'node:tls'

const STAGE_TIMEOUT_MS = 2000
const PINGS = 20

export async function handler(event) {
  const {host, port = 6379, tls = false, authToken} = event ?? {}
  const stages = []
  const stage = async (name, run) => {
    const started = performance.now()
    try {
      const detail = await withTimeout(run(), STAGE_TIMEOUT_MS, name)
      stages.push({stage: name, ok: true, ms: round(performance.now() - started), ...detail})
      return true
    } catch (error) {
      stages.push({stage: name, ok: false, ms: round(performance.now() - started), error: describe(error)})
      return false
    }
  }
  const skipped = (name, why) => stages.push({stage: name, ok: false, skipped: true, error: why})

  let address
  let socket
  const opened = [] // every socket, even one still connecting when its stage timed out
  const open = (make, readyEvent) => new Promise((resolve, reject) => {
    const s = make()
    opened.push(s)
    s.once(readyEvent, () => resolve(s))
    s.once('error', reject)
  })
  try {
    const resolved = host && (await stage('dns', async () => {
      address = (await dns.lookup(host)).address
      return {address}
    }))
    if (!host) skipped('dns', 'no cache host given')
    const connected = resolved && (await stage('tcp', async () => {
      socket = await open(() => tcpConnect({host: address, port}), 'connect')
      return {port}
    }))
    if (!resolved) skipped('tcp', 'the name did not resolve')
    let secured = connected
    if (tls && connected) {
      secured = await stage('tls', async () => {
        socket = await open(() => tlsConnect({socket, servername: host}), 'secureConnect')
        return {protocol: socket.getProtocol(), cipher: socket.getCipher()?.name}
      })
    } else if (tls) skipped('tls', 'no TCP connection')
    const client = secured ? new Resp(socket) : undefined
    let authed = Boolean(client)
    if (client && authToken) authed = await stage('auth', async () => ({reply: await client.command('AUTH', authToken)}))
    const commanded = authed && (await stage('command', async () => {
      const pings = []
      for (let i = 0; i < PINGS; i++) {
        const t = performance.now()
        const reply = await client.command('PING')
        if (reply !== 'PONG') throw new Error(`PING answered ${JSON.stringify(reply)}`)
        pings.push(performance.now() - t)
      }
      pings.sort((a, b) => a - b)
      // The runbook's Test 1 on a throw-away key: SET, GET, SETEX and TTL, then DEL.
      // One hash tag for both keys: a cluster-mode cache (sharded, serverless) refuses a DEL across slots (CROSSSLOT).
      const key = `cct:probe:{${Date.now()}:${Math.random().toString(36).slice(2)}}`
      await client.command('SET', key, 'ok')
      const read = await client.command('GET', key)
      await client.command('SETEX', `${key}:ttl`, '60', 'ok')
      const ttl = await client.command('TTL', `${key}:ttl`)
      await client.command('DEL', key, `${key}:ttl`)
      if (read !== 'ok') throw new Error(`wrote "ok", read back ${JSON.stringify(read)}`)
      if (!(ttl > 0 && ttl <= 60)) throw new Error(`SETEX 60 left a TTL of ${ttl}`)
      const info = String(await client.command('INFO', 'server'))
      const engine = /valkey_version:/.test(info) || /server_name:valkey/.test(info) ? 'valkey' : 'redis'
      const version = (/valkey_version:(\S+)/.exec(info) ?? /redis_version:(\S+)/.exec(info))?.[1]
      return {pingMs: {p50: round(pings[Math.floor(PINGS / 2)]), max: round(pings[PINGS - 1])}, ttl, engine, version}
    }))
    if (!commanded && !stages.some((s) => s.stage === 'command')) skipped('command', 'no connection to the cache')
  } finally {
    for (const s of opened) s.destroy()
  }

  await stage('dynamodb', async () => {
    // The runtime's own SDK, through the route the functions use (gateway endpoint or NAT).
    const {DynamoDBClient, ListTablesCommand} = await import('@aws-sdk/client-dynamodb')
    const client = new DynamoDBClient({maxAttempts: 1, requestHandler: {connectionTimeout: STAGE_TIMEOUT_MS, requestTimeout: STAGE_TIMEOUT_MS}})
    try {
      const {TableNames = []} = await client.send(new ListTablesCommand({Limit: 100}))
      return {tables: TableNames.length}
    } finally {
      client.destroy()
    }
  })

  await stage('layer', async () => {
    // The cct layer is attached to the probe as to the functions: its helper must load.
    const helper = await import('cct-cache').catch(async () => import('/opt/nodejs/node_modules/cct-cache/index.mjs'))
    return {exports: Object.keys(helper).length}
  })

  return {ok: stages.every((s) => s.ok || (s.skipped && s.stage === 'tls' && !tls)), stages}
}

/** A minimal RESP2 client: enough for PING, SET, GET, SETEX, TTL, DEL, INFO, AUTH. */
class Resp {
  constructor(socket) {
    this.socket = socket
    this.buffer = Buffer.alloc(0)
    this.waiting = []
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.drain()
    })
    const fail = (error) => {
      for (const w of this.waiting.splice(0)) w.reject(error ?? new Error('the cache closed the connection'))
    }
    socket.on('error', fail)
    socket.on('close', () => fail())
  }

  command(...args) {
    const wire = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`
    return new Promise((resolve, reject) => {
      this.waiting.push({resolve, reject})
      this.socket.write(wire)
    })
  }

  drain() {
    while (this.waiting.length) {
      const parsed = parse(this.buffer, 0)
      if (!parsed) return
      this.buffer = this.buffer.subarray(parsed.end)
      const w = this.waiting.shift()
      if (parsed.value instanceof Error) w.reject(parsed.value)
      else w.resolve(parsed.value)
    }
  }
}

function parse(buf, at) {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[at])
  const line = buf.toString('utf8', at + 1, eol)
  if (type === '+') return {value: line, end: eol + 2}
  if (type === '-') return {value: new Error(line), end: eol + 2}
  if (type === ':') return {value: Number(line), end: eol + 2}
  if (type === '$') {
    const n = Number(line)
    if (n < 0) return {value: null, end: eol + 2}
    if (buf.length < eol + 2 + n + 2) return undefined
    return {value: buf.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2}
  }
  if (type === '*') {
    const n = Number(line)
    const items = []
    let end = eol + 2
    for (let i = 0; i < n; i++) {
      const item = parse(buf, end)
      if (!item) return undefined
      items.push(item.value)
      end = item.end
    }
    return {value: items, end}
  }
  return {value: new Error(`unexpected reply type ${JSON.stringify(type)}`), end: buf.length}
}

function withTimeout(promise, ms, name) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms / 1000} s`), {code: 'ETIMEDOUT', stage: name})), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function describe(error) {
  const code = error?.code ?? error?.name
  const message = error?.message ?? String(error)
  return code && !message.includes(code) ? `${code}: ${message}` : message
}

function round(ms) {
  return Math.round(ms * 100) / 100
}
