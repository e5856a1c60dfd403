/**
 * The runtimes' network hooks (sandbox/runtime/node/network.mjs, .../python/network.py)
 * with hand-made network tables: names answered as the VPC's DNS would, virtual addresses
 * routed to real loopback servers or to the tarpit, everything else untouched.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import dns from 'node:dns'
import net from 'node:net'
import {join} from 'node:path'
import https from 'node:https'
import {after, before, describe, it} from 'node:test'

// @ts-expect-error the runtime hook is plain JavaScript, loaded by the function's bootstrap
import * as hook from '../../sandbox/runtime/node/network.mjs'

const RUNTIME = join(import.meta.dirname, '..', '..', 'sandbox', 'runtime')

/** A loopback server that records what each connection sent first. */
async function recorder() {
  const firsts: Buffer[] = []
  const server = net.createServer((s) => {
    // Answer only once the first bytes are recorded, so a client that got "hi" can check them.
    s.once('data', (d) => {
      firsts.push(d)
      s.write('hi')
    })
    s.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {server, firsts, port: (server.address() as net.AddressInfo).port}
}

function talk(socket: net.Socket, say: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (d) => {
      socket.destroy()
      resolve(String(d))
    })
    socket.once('error', reject)
    socket.once('connect', () => socket.write(say))
  })
}

describe('Node network hook', () => {
  let cache: Awaited<ReturnType<typeof recorder>>
  let tarpit: Awaited<ReturnType<typeof recorder>>
  before(async () => {
    cache = await recorder()
    tarpit = await recorder()
    hook.install()
    hook.apply({
      hosts: {'Master.Cache.Example.internal': '127.77.0.10'},
      defaultHost: '127.77.0.4',
      routes: {'127.77.0.10:6379': `127.0.0.1:${cache.port}`},
      tarpit: `127.0.0.1:${tarpit.port}`,
    })
  })
  after(() => {
    hook.apply({})
    cache.server.close()
    tarpit.server.close()
  })

  it('answers lookups from hosts, other names from defaultHost; IPs and localhost untouched', async () => {
    const one = await new Promise((r) =>
      dns.lookup('master.cache.example.internal.', (_e, address, family) => r([address, family])),
    )
    assert.deepEqual(one, ['127.77.0.10', 4])
    assert.deepEqual(await dns.promises.lookup('anything.example.com', {all: true}), [
      {address: '127.77.0.4', family: 4},
    ])
    assert.deepEqual(await dns.promises.lookup('localhost', {family: 4}), {address: '127.0.0.1', family: 4})
    assert.equal(hook.resolve('10.0.0.1'), undefined)
  })

  it('a virtual address (or a name for one) connects to its route; an unrouted one to the tarpit', async () => {
    assert.equal(await talk(net.connect(6379, 'master.cache.example.internal'), 'by-name'), 'hi')
    assert.equal(await talk(net.connect({host: '127.77.0.10', port: 6379}), 'by-ip'), 'hi')
    assert.equal(await talk(net.connect(443, 'dynamodb.us-east-1.amazonaws.com'), 'unrouted'), 'hi')
    assert.deepEqual(cache.firsts.map(String), ['by-name', 'by-ip'])
    assert.deepEqual(tarpit.firsts.map(String), ['unrouted'])
  })

  it('leaves other addresses alone', async () => {
    assert.equal(await talk(net.connect(cache.port, '127.0.0.1'), 'direct'), 'hi')
    assert.equal(hook.route('127.0.0.1', cache.port), undefined)
  })

  it('TLS still asks for the original name (SNI)', async () => {
    // https names the host in SNI from the caller's options, which the hook must not rewrite.
    const request = https.get({
      host: 'master.cache.example.internal',
      port: 6379,
      rejectUnauthorized: false,
      agent: false,
    })
    request.on('error', () => {})
    const hello = () => cache.firsts.find((d) => d[0] === 0x16) // a TLS handshake record
    for (let i = 0; i < 100 && !hello(); i++) await new Promise((r) => setTimeout(r, 10))
    request.destroy()
    assert.ok(hello()?.includes(Buffer.from('master.cache.example.internal')), 'the ClientHello names the host')
  })
})

describe('Python network hook', () => {
  it('getaddrinfo and connect follow the table; an unrouted address hangs in the tarpit', async () => {
    const cache = await recorder()
    try {
      const script = `
import json, socket, sys
sys.path.insert(0, ${JSON.stringify(join(RUNTIME, 'python'))})
import network
# The tarpit: a listener whose accept queue is full, so a new SYN is never answered.
tarpit = socket.socket(); tarpit.bind(("127.0.0.1", 0)); tarpit.listen(0)
fillers = []
for _ in range(3):
    s = socket.socket(); s.setblocking(False); s.connect_ex(tarpit.getsockname()); fillers.append(s)
network.install()
network.apply({"hosts": {"master.cache.example.internal": "127.77.0.10"}, "defaultHost": "127.77.0.4",
               "routes": {"127.77.0.10:6379": "127.0.0.1:${cache.port}"}, "tarpit": "127.0.0.1:%d" % tarpit.getsockname()[1]})
out = {}
out["byname"] = socket.gethostbyname("master.cache.example.internal")
out["default"] = socket.gethostbyname("news.example.com")
out["addrinfo"] = socket.getaddrinfo("master.cache.example.internal", 6379, type=socket.SOCK_STREAM)[0][4]
out["localhost"] = socket.gethostbyname("localhost")
c = socket.create_connection(("master.cache.example.internal", 6379), timeout=2); c.sendall(b"py-name"); out["reply"] = c.recv(2).decode(); c.close()
c = socket.socket(); c.settimeout(2); c.connect(("127.77.0.10", 6379)); c.sendall(b"py-ip"); c.recv(2); c.close()
try:
    socket.create_connection(("127.77.0.99", 80), timeout=0.5)
    out["tarpit"] = "connected"
except socket.timeout:
    out["tarpit"] = "timeout"
except OSError as e:
    out["tarpit"] = repr(e)
print(json.dumps(out))
`
      // Asynchronously: the recorder in this process must answer meanwhile.
      const out = JSON.parse(
        await new Promise<string>((resolve, reject) => {
          execFile('python3', ['-c', script], {encoding: 'utf8', timeout: 10_000}, (e, stdout) =>
            e ? reject(e) : resolve(stdout),
          )
        }),
      )
      assert.deepEqual(out, {
        byname: '127.77.0.10',
        default: '127.77.0.4',
        addrinfo: ['127.0.0.1', cache.port],
        localhost: '127.0.0.1',
        reply: 'hi',
        tarpit: 'timeout',
      })
      assert.deepEqual(cache.firsts.map(String), ['py-name', 'py-ip'])
    } finally {
      cache.server.close()
    }
  })
})

describe('the network hooks resolve by the longest suffix', () => {
  it('bucket-style S3 and account-based DynamoDB names resolve to their service, others to the internet', async () => {
    const {apply, resolve} = hook
    apply({
      hosts: {'dynamodb.us-east-1.amazonaws.com': '127.77.0.2'},
      suffixes: {
        '.amazonaws.com': '127.77.0.5',
        '.ddb.us-east-1.amazonaws.com': '127.77.0.2',
        '.s3.us-east-1.amazonaws.com': '127.77.0.3',
      },
      defaultHost: '127.77.0.4',
      routes: {},
      tarpit: null,
    })
    assert.equal(resolve('123456789012.ddb.us-east-1.amazonaws.com'), '127.77.0.2')
    assert.equal(resolve('my-bucket.s3.us-east-1.amazonaws.com'), '127.77.0.3')
    assert.equal(resolve('sqs.eu-west-1.amazonaws.com'), '127.77.0.5')
    assert.equal(resolve('news.example.com'), '127.77.0.4')
    apply({hosts: {}, routes: {}, defaultHost: null, tarpit: null})
  })
})
