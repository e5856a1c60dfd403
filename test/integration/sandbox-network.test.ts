/**
 * The sandbox's caches, edge and network (sandbox/fidelity/caches.py, edge.py, network.py,
 * certs.py), through the AWS SDK and real sockets on loopback.
 */
import assert from 'node:assert/strict'
import {Agent} from 'node:https'
import {connect as netConnect, type Socket} from 'node:net'
import {describe, it} from 'node:test'
import {connect as tlsConnect} from 'node:tls'

import {CloudWatchClient, GetMetricStatisticsCommand} from '@aws-sdk/client-cloudwatch'
import {
  BatchGetItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb'
import {
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  AllocateAddressCommand,
  AssociateRouteTableCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  CreateVpcEndpointCommand,
  DeleteVpcEndpointsCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2'
import {
  CreateCacheSubnetGroupCommand,
  CreateReplicationGroupCommand,
  DeleteReplicationGroupCommand,
  ElastiCacheClient,
  TestFailoverCommand,
} from '@aws-sdk/client-elasticache'
import {AttachRolePolicyCommand, CreateRoleCommand, IAMClient} from '@aws-sdk/client-iam'
import {CreateFunctionCommand, LambdaClient} from '@aws-sdk/client-lambda'
import {NodeHttpHandler} from '@smithy/node-http-handler'

import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false, fidelity: {metricsPeriodSeconds: 1}})
const cfg = () => ({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
const ec2 = () => new EC2Client(cfg())
const elasticache = () => new ElastiCacheClient(cfg())
const VPC_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'

interface CacheEndpoint {
  group_id: string
  node_id: string
  role: string
  kind: string
  hostname: string
  port: number
  real: string
  tls: boolean
}
interface NetworkTable {
  hosts: Record<string, string>
  suffixes: Record<string, string>
  defaultHost: string
  routes: Record<string, string>
  tarpit: string
}

async function fidelity<T>(path: string): Promise<T> {
  const res = await fetch(`${sandbox().endpoint}${path}`)
  assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`)
  return (await res.json()) as T
}
const ca = () => fetch(`${sandbox().endpoint}/cct-fidelity/ca`).then((r) => r.text())
const portOf = (real: string) => Number(real.split(':')[1])

/** Sends redis commands (inline) on one connection and returns one reply line per command. */
async function redis(
  opts: {port: number; tls?: {ca: string; servername: string}},
  ...commands: string[]
): Promise<string[]> {
  const socket: Socket = opts.tls
    ? tlsConnect({host: '127.0.0.1', port: opts.port, ca: opts.tls.ca, servername: opts.tls.servername})
    : netConnect({host: '127.0.0.1', port: opts.port})
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve())
      socket.once('error', reject)
    })
    const replies: string[] = []
    let buffer = ''
    for (const command of commands) {
      socket.write(`${command}\r\n`)
      const line = await new Promise<string>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          buffer += chunk.toString()
          // A bulk reply is two lines ($n + data); everything else one.
          const lines = buffer.split('\r\n')
          const need = lines[0]!.startsWith('$') && lines[0] !== '$-1' ? 3 : 2
          if (lines.length < need) return
          socket.off('data', onData)
          buffer = lines.slice(need - 1).join('\r\n')
          resolve(need === 3 ? lines[1]! : lines[0]!)
        }
        socket.on('data', onData)
        socket.once('error', reject)
        socket.once('close', () => reject(new Error('connection closed')))
      })
      replies.push(line)
    }
    return replies
  } finally {
    socket.destroy()
  }
}

async function cacheVpc(name: string) {
  const {Vpc} = await ec2().send(new CreateVpcCommand({CidrBlock: '10.20.0.0/16'}))
  const vpcId = Vpc!.VpcId!
  const {Subnet} = await ec2().send(
    new CreateSubnetCommand({VpcId: vpcId, CidrBlock: '10.20.1.0/24', AvailabilityZone: 'us-east-1a'}),
  )
  const subnetId = Subnet!.SubnetId!
  const lambdaSg = (
    await ec2().send(new CreateSecurityGroupCommand({GroupName: `${name}-lambda`, Description: 'l', VpcId: vpcId}))
  ).GroupId!
  const cacheSg = (
    await ec2().send(new CreateSecurityGroupCommand({GroupName: `${name}-cache`, Description: 'c', VpcId: vpcId}))
  ).GroupId!
  const rule = {
    GroupId: cacheSg,
    IpPermissions: [{IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, UserIdGroupPairs: [{GroupId: lambdaSg}]}],
  }
  await ec2().send(new AuthorizeSecurityGroupIngressCommand(rule))
  await elasticache().send(
    new CreateCacheSubnetGroupCommand({
      CacheSubnetGroupName: name,
      CacheSubnetGroupDescription: 'd',
      SubnetIds: [subnetId],
    }),
  )
  return {vpcId, subnetId, lambdaSg, cacheSg, rule}
}

async function createGroup(
  id: string,
  subnetGroup: string,
  cacheSg: string,
  opts: {tls?: boolean; replicas?: boolean} = {},
) {
  const {ReplicationGroup} = await elasticache().send(
    new CreateReplicationGroupCommand({
      ReplicationGroupId: id,
      ReplicationGroupDescription: 'test',
      Engine: 'redis',
      CacheNodeType: 'cache.t4g.micro',
      NumCacheClusters: opts.replicas ? 2 : 1,
      AutomaticFailoverEnabled: Boolean(opts.replicas),
      TransitEncryptionEnabled: Boolean(opts.tls),
      CacheSubnetGroupName: subnetGroup,
      SecurityGroupIds: [cacheSg],
    }),
  )
  return ReplicationGroup!
}

const byHost = (eps: CacheEndpoint[], hostname: string) => eps.find((e) => e.hostname === hostname)!

describe('caches: a redis-server per replication group node', () => {
  it('TLS node verifies against the sandbox CA with its endpoint name; deleting the group stops it', async () => {
    const {cacheSg} = await cacheVpc('tls')
    const group = await createGroup('tls-cache', 'tls', cacheSg, {tls: true})
    const primary = group.NodeGroups![0]!.PrimaryEndpoint!.Address!
    assert.match(
      primary,
      /^master\.tls-cache\..*\.cache\.amazonaws\.com$/,
      'moto reports the primary endpoint cct writes into REDIS_HOST',
    )
    const ep = byHost(await fidelity<CacheEndpoint[]>('/cct-fidelity/caches'), primary)
    assert.equal(ep.tls, true)
    const caPem = await ca()
    assert.deepEqual(await redis({port: portOf(ep.real), tls: {ca: caPem, servername: primary}}, 'SET k v', 'GET k'), [
      '+OK',
      'v',
    ])
    await assert.rejects(
      redis({port: portOf(ep.real), tls: {ca: caPem, servername: 'other.example.com'}}, 'PING'),
      /altnames|Hostname/i,
      'the certificate names the endpoint, nothing else',
    )
    await assert.rejects(
      redis({port: portOf(ep.real)}, 'PING').then((r) => assert.equal(r[0], '+PONG')),
      'plain text is refused on a TLS node',
    )

    await elasticache().send(new DeleteReplicationGroupCommand({ReplicationGroupId: 'tls-cache'}))
    await assert.rejects(redis({port: portOf(ep.real), tls: {ca: caPem, servername: primary}}, 'PING'), /ECONNREFUSED/)
    assert.deepEqual(await fidelity('/cct-fidelity/caches'), [])
  })

  it('TestFailover promotes the replica: the primary endpoint follows it, the old primary answers READONLY', async () => {
    const {cacheSg} = await cacheVpc('fo')
    const group = await createGroup('fo-cache', 'fo', cacheSg, {replicas: true})
    const primaryName = group.NodeGroups![0]!.PrimaryEndpoint!.Address!
    const before = await fidelity<CacheEndpoint[]>('/cct-fidelity/caches')
    const oldPrimary = byHost(before, primaryName)
    assert.equal(oldPrimary.node_id, 'fo-cache-001')
    assert.deepEqual(await redis({port: portOf(oldPrimary.real)}, 'SET a 1'), ['+OK'])

    const {ReplicationGroup} = await elasticache().send(
      new TestFailoverCommand({ReplicationGroupId: 'fo-cache', NodeGroupId: '0001'}),
    )
    const roles = Object.fromEntries(
      ReplicationGroup!.NodeGroups![0]!.NodeGroupMembers!.map((m) => [m.CacheClusterId, m.CurrentRole]),
    )
    assert.deepEqual(roles, {'fo-cache-001': 'replica', 'fo-cache-002': 'primary'})
    const after = byHost(await fidelity<CacheEndpoint[]>('/cct-fidelity/caches'), primaryName)
    assert.equal(after.node_id, 'fo-cache-002', 'the primary endpoint now leads to the promoted node')
    assert.deepEqual(await redis({port: portOf(after.real)}, 'SET b 2'), ['+OK'])
    assert.match((await redis({port: portOf(oldPrimary.real)}, 'SET c 3'))[0]!, /^-READONLY/)
    // The old primary replicates from the new one.
    let seen = ''
    for (let i = 0; i < 40 && seen !== '2'; i++) {
      seen = (await redis({port: portOf(oldPrimary.real)}, 'GET b'))[0]!
      if (seen !== '2') await new Promise((r) => setTimeout(r, 50))
    }
    assert.equal(seen, '2')

    await assert.rejects(
      elasticache().send(new TestFailoverCommand({ReplicationGroupId: 'fo-cache', NodeGroupId: '0009'})),
      {name: 'NodeGroupNotFoundFault'},
    )
    await createGroup('single', 'fo', cacheSg)
    await assert.rejects(
      elasticache().send(new TestFailoverCommand({ReplicationGroupId: 'single', NodeGroupId: '0001'})),
      {name: 'InvalidParameterCombinationException'},
    )
    await assert.rejects(
      elasticache().send(new TestFailoverCommand({ReplicationGroupId: 'nope', NodeGroupId: '0001'})),
      {name: 'ReplicationGroupNotFoundFault'},
    )
  })

  it('AWS/ElastiCache CacheHits and CacheMisses per node equal what redis INFO counted', async () => {
    const {cacheSg} = await cacheVpc('m')
    const group = await createGroup('m-cache', 'm', cacheSg)
    const ep = byHost(
      await fidelity<CacheEndpoint[]>('/cct-fidelity/caches'),
      group.NodeGroups![0]!.PrimaryEndpoint!.Address!,
    )
    const port = portOf(ep.real)
    await redis({port}, 'SET x 1', 'SET y 2', ...Array(7).fill('GET x'), 'GET missing', 'GET y', 'GET gone', 'GET none')
    const info = await new Promise<string>((resolve, reject) => {
      const s = netConnect({host: '127.0.0.1', port}, () => s.write('INFO stats\r\n'))
      let out = ''
      s.on('data', (c) => {
        out += c.toString()
        if (!out.includes('keyspace_misses')) return
        s.destroy()
        resolve(out)
      })
      s.on('error', reject)
    })
    const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)![1])
    assert.deepEqual([field('keyspace_hits'), field('keyspace_misses')], [8, 3])

    const cw = new CloudWatchClient(cfg())
    const sum = async (metric: string) => {
      const {Datapoints = []} = await cw.send(
        new GetMetricStatisticsCommand({
          Namespace: 'AWS/ElastiCache',
          MetricName: metric,
          Dimensions: [{Name: 'CacheClusterId', Value: 'm-cache-001'}],
          StartTime: new Date(Date.now() - 600_000),
          EndTime: new Date(Date.now() + 60_000),
          Period: 60,
          Statistics: ['Sum'],
        }),
      )
      return Datapoints.reduce((a, d) => a + (d.Sum ?? 0), 0)
    }
    let hits = 0
    for (let i = 0; i < 60 && hits < 8; i++) {
      hits = await sum('CacheHits')
      if (hits < 8) await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(hits, field('keyspace_hits'))
    assert.equal(await sum('CacheMisses'), field('keyspace_misses'))
    assert.ok((await sum('NewConnections')) >= 2)
  })
})

describe('edge: the AWS endpoints and the internet over TLS', () => {
  it("serves DynamoDB as dynamodb.us-east-1.amazonaws.com and meters capacity with DynamoDB's rounding", async () => {
    const edge = await fidelity<{https: number; http: number}>('/cct-fidelity/edge')
    const caPem = await ca()
    // The name resolves to the edge (loopback) as the network hook makes it inside a function.
    const agent = new Agent({
      ca: caPem,
      lookup: ((_h: string, o: {all?: boolean}, cb: (...a: unknown[]) => void) =>
        o?.all ? cb(null, [{address: '127.0.0.1', family: 4}]) : cb(null, '127.0.0.1', 4)) as never,
    })
    const ddb = new DynamoDBClient({
      region: 'us-east-1',
      maxAttempts: 1,
      endpoint: `https://dynamodb.us-east-1.amazonaws.com:${edge.https}`,
      requestHandler: new NodeHttpHandler({httpsAgent: agent}),
    })
    await new DynamoDBClient(cfg()).send(
      new CreateTableCommand({
        TableName: 'meter',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          {AttributeName: 'pk', AttributeType: 'S'},
          {AttributeName: 'sk', AttributeType: 'S'},
        ],
        KeySchema: [
          {AttributeName: 'pk', KeyType: 'HASH'},
          {AttributeName: 'sk', KeyType: 'RANGE'},
        ],
      }),
    )
    // Sizes as DynamoDB counts them: names + values. 2+1 + 2+1 + 4+5000 = 5010 and 3010 bytes.
    await ddb.send(
      new PutItemCommand({TableName: 'meter', Item: {pk: {S: 'p'}, sk: {S: '1'}, data: {S: 'x'.repeat(5000)}}}),
    ) // 5 WCU
    await ddb.send(
      new PutItemCommand({TableName: 'meter', Item: {pk: {S: 'p'}, sk: {S: '2'}, data: {S: 'y'.repeat(3000)}}}),
    ) // 3 WCU
    await ddb.send(new GetItemCommand({TableName: 'meter', Key: {pk: {S: 'p'}, sk: {S: '1'}}})) // 2 x 4KB / 2 = 1
    await ddb.send(new GetItemCommand({TableName: 'meter', Key: {pk: {S: 'p'}, sk: {S: '1'}}, ConsistentRead: true})) // 2
    await ddb.send(new GetItemCommand({TableName: 'meter', Key: {pk: {S: 'p'}, sk: {S: 'none'}}})) // minimum 0.5
    const q = await ddb.send(
      new QueryCommand({
        TableName: 'meter',
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: {':p': {S: 'p'}},
        ProjectionExpression: 'sk',
      }),
    ) // 8020 bytes summed -> 2 x 4KB / 2 = 1 (projection does not lower it)
    assert.equal(q.Count, 2)
    await ddb.send(
      new BatchGetItemCommand({
        RequestItems: {
          meter: {
            Keys: [
              {pk: {S: 'p'}, sk: {S: '1'}},
              {pk: {S: 'p'}, sk: {S: '2'}},
            ],
          },
        },
      }),
    ) // per item: 1 + 0.5
    await ddb.send(new DeleteItemCommand({TableName: 'meter', Key: {pk: {S: 'p'}, sk: {S: '2'}}})) // the deleted item's 3 KB: 3 WCU

    const counted = await fidelity<{
      requests: Record<string, Record<string, number>>
      capacity: Record<string, {read: number; write: number}>
    }>('/cct-fidelity/dynamodb-requests')
    assert.deepEqual(counted.requests.meter, {PutItem: 2, GetItem: 3, Query: 1, BatchGetItem: 1, DeleteItem: 1})
    assert.deepEqual(counted.capacity.meter, {read: 1 + 2 + 0.5 + 1 + 1.5, write: 5 + 3 + 3})
    const cw = new CloudWatchClient(cfg())
    for (const [metric, expected] of [
      ['ConsumedReadCapacityUnits', 6],
      ['ConsumedWriteCapacityUnits', 11],
    ] as const) {
      const {Datapoints = []} = await cw.send(
        new GetMetricStatisticsCommand({
          Namespace: 'AWS/DynamoDB',
          MetricName: metric,
          Dimensions: [{Name: 'TableName', Value: 'meter'}],
          StartTime: new Date(Date.now() - 600_000),
          EndTime: new Date(Date.now() + 60_000),
          Period: 60,
          Statistics: ['Sum'],
        }),
      )
      assert.equal(
        Datapoints.reduce((a, d) => a + (d.Sum ?? 0), 0),
        expected,
        metric,
      )
    }

    // Any other host is the stand-in internet.
    const feed = await new Promise<{status: number; body: string}>((resolve, reject) => {
      const s = tlsConnect({host: '127.0.0.1', port: edge.https, ca: caPem, servername: 'news.example.com'}, () =>
        s.write('GET /feed.xml HTTP/1.1\r\nHost: news.example.com\r\nConnection: close\r\n\r\n'),
      )
      let out = ''
      s.on('data', (c) => (out += c.toString()))
      s.on('end', () => resolve({status: Number(out.split(' ')[1]), body: out}))
      s.on('error', reject)
    })
    assert.equal(feed.status, 200)
    assert.match(feed.body, /<rss version="2.0">/)
  })
})

describe('network: what a function can reach follows its VPC', () => {
  it('outside a VPC, in one with an endpoint and an admitted group, without the endpoint, without the rule, through a NAT', async () => {
    const net = await cacheVpc('net')
    const group = await createGroup('net-cache', 'net', net.cacheSg)
    const primary = group.NodeGroups![0]!.PrimaryEndpoint!.Address!
    const real = byHost(await fidelity<CacheEndpoint[]>('/cct-fidelity/caches'), primary).real

    const iam = new IAMClient(cfg())
    const {Role} = await iam.send(
      new CreateRoleCommand({
        RoleName: 'net-role',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}],
        }),
      }),
    )
    await iam.send(new AttachRolePolicyCommand({RoleName: 'net-role', PolicyArn: VPC_POLICY}))
    const lambda = new LambdaClient(cfg())
    const code = Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64')
    const base = {
      Runtime: 'python3.12' as const,
      Role: Role!.Arn!,
      Handler: 'index.handler',
      Code: {ZipFile: code},
      Environment: {Variables: {}},
    }
    await lambda.send(new CreateFunctionCommand({...base, FunctionName: 'outside'}))
    await lambda.send(
      new CreateFunctionCommand({
        ...base,
        FunctionName: 'inside',
        VpcConfig: {SubnetIds: [net.subnetId], SecurityGroupIds: [net.lambdaSg]},
      }),
    )
    const table = (fn: string) => fidelity<NetworkTable>(`/cct-fidelity/network?function=${fn}`)
    const ddbHost = 'dynamodb.us-east-1.amazonaws.com'

    const outside = await table('outside')
    const cacheIp = outside.hosts[primary]!
    assert.match(cacheIp, /^127\.77\./)
    assert.ok(outside.routes[`${outside.hosts[ddbHost]}:443`], 'outside a VPC DynamoDB is reachable')
    assert.ok(outside.routes[`${outside.defaultHost}:443`], 'and the internet')
    assert.equal(outside.routes[`${cacheIp}:6379`], undefined, 'the cache is not')

    const inside0 = await table('inside')
    assert.equal(
      inside0.routes[`${inside0.hosts[ddbHost]}:443`],
      undefined,
      "in a VPC without an endpoint: no DynamoDB (the runbook's failure)",
    )
    assert.equal(inside0.routes[`${cacheIp}:6379`], real, 'the admitted group reaches the cache node')

    const {RouteTables = []} = await ec2().send(
      new DescribeRouteTablesCommand({Filters: [{Name: 'vpc-id', Values: [net.vpcId]}]}),
    )
    const main = RouteTables.find((t) => t.Associations?.some((a) => a.Main))!.RouteTableId!
    const {VpcEndpoint} = await ec2().send(
      new CreateVpcEndpointCommand({
        VpcId: net.vpcId,
        ServiceName: 'com.amazonaws.us-east-1.dynamodb',
        VpcEndpointType: 'Gateway',
        RouteTableIds: [main],
      }),
    )
    const inside = await table('inside')
    assert.ok(
      inside.routes[`${inside.hosts[ddbHost]}:443`],
      "the gateway endpoint on the subnet's (main) route table routes DynamoDB",
    )
    assert.equal(inside.routes[`${inside.defaultHost}:443`], undefined, 'but not the internet')
    assert.equal(inside.routes[`${cacheIp}:6379`], real)

    await ec2().send(new DeleteVpcEndpointsCommand({VpcEndpointIds: [VpcEndpoint!.VpcEndpointId!]}))
    const noEndpoint = await table('inside')
    assert.equal(
      noEndpoint.routes[`${noEndpoint.hosts[ddbHost]}:443`],
      undefined,
      'a deleted endpoint (listed as deleted) routes nothing',
    )

    await ec2().send(new RevokeSecurityGroupIngressCommand(net.rule))
    assert.equal(
      (await table('inside')).routes[`${cacheIp}:6379`],
      undefined,
      'without the ingress rule the cache hangs',
    )

    // A NAT gateway in a public subnet (routed to an attached internet gateway).
    const {InternetGateway} = await ec2().send(new CreateInternetGatewayCommand({}))
    await ec2().send(
      new AttachInternetGatewayCommand({InternetGatewayId: InternetGateway!.InternetGatewayId!, VpcId: net.vpcId}),
    )
    const pub = (
      await ec2().send(
        new CreateSubnetCommand({VpcId: net.vpcId, CidrBlock: '10.20.9.0/24', AvailabilityZone: 'us-east-1a'}),
      )
    ).Subnet!.SubnetId!
    const pubRt = (await ec2().send(new CreateRouteTableCommand({VpcId: net.vpcId}))).RouteTable!.RouteTableId!
    await ec2().send(new AssociateRouteTableCommand({RouteTableId: pubRt, SubnetId: pub}))
    await ec2().send(
      new CreateRouteCommand({
        RouteTableId: pubRt,
        DestinationCidrBlock: '0.0.0.0/0',
        GatewayId: InternetGateway!.InternetGatewayId!,
      }),
    )
    const {AllocationId} = await ec2().send(new AllocateAddressCommand({Domain: 'vpc'}))
    const {NatGateway} = await ec2().send(new CreateNatGatewayCommand({SubnetId: pub, AllocationId}))
    await ec2().send(
      new CreateRouteCommand({
        RouteTableId: main,
        DestinationCidrBlock: '0.0.0.0/0',
        NatGatewayId: NatGateway!.NatGatewayId!,
      }),
    )
    const natted = await table('inside')
    assert.ok(natted.routes[`${natted.defaultHost}:443`], 'through the NAT the internet is reachable')
    assert.ok(natted.routes[`${natted.hosts[ddbHost]}:443`], 'and DynamoDB')
    assert.ok(natted.routes[`${natted.hosts['logs.us-east-1.amazonaws.com']}:443`], 'and other AWS services')
  })

  it('the tarpit never answers a connect (a dropped SYN), while the edge does at once', async () => {
    const tarpit = await tarpitOf()
    const attempt = (port: number, ms: number) =>
      new Promise<'connected' | 'hung' | string>((resolve) => {
        const s = netConnect({host: '127.0.0.1', port})
        const timer = setTimeout(() => (s.destroy(), resolve('hung')), ms)
        s.once('connect', () => (clearTimeout(timer), s.destroy(), resolve('connected')))
        s.once('error', (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(e.code ?? 'error')))
      })
    assert.equal(await attempt(portOf(tarpit), 1000), 'hung')
    const edge = await fidelity<{https: number}>('/cct-fidelity/edge')
    assert.equal(await attempt(edge.https, 1500), 'connected')
  })
})

/** The tarpit address, from the table of any function (one outside a VPC is enough). */
async function tarpitOf(): Promise<string> {
  const iam = new IAMClient(cfg())
  const {Role} = await iam.send(new CreateRoleCommand({RoleName: 'tarpit-role', AssumeRolePolicyDocument: '{}'}))
  await new LambdaClient(cfg()).send(
    new CreateFunctionCommand({
      FunctionName: 'tarpit-fn',
      Runtime: 'python3.12',
      Role: Role!.Arn!,
      Handler: 'index.handler',
      Code: {ZipFile: Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64')},
      Environment: {Variables: {}},
    }),
  )
  return (await fidelity<NetworkTable>('/cct-fidelity/network?function=tarpit-fn')).tarpit
}
