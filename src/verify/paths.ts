import {GetFunctionConfigurationCommand, ListAliasesCommand} from '@aws-sdk/client-lambda'
import {
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcEndpointsCommand,
} from '@aws-sdk/client-ec2'
import type {EC2Client, IpPermission} from '@aws-sdk/client-ec2'
import type {FunctionConfiguration, LambdaClient} from '@aws-sdk/client-lambda'

import {mapBounded, FUNCTION_CONCURRENCY, type FunctionInfo} from '../aws/functions.js'
import {contains} from '../net/cidr.js'

/** What the stack offers: where the cache is and who it admits. */
export interface StackNetwork {
  vpcId: string
  cacheGroupId: string
  host: string
  port: number
  tls: boolean
  /** The layer version functions should carry, and the unversioned ARN all of cct's versions start with. */
  layerVersionArn: string
  layerArn: string
}

/** One hop of one function's path to the cache or to DynamoDB. */
export interface PathCheck {
  check: 'vpc' | 'security group' | 'dynamodb route' | 'layer' | 'env' | 'aliases'
  ok: boolean
  detail: string
  /** The command that repairs it. */
  fix?: string
}

export interface FunctionPath {
  name: string
  ok: boolean
  checks: PathCheck[]
}

interface NetworkFacts {
  /** Security groups the cache group admits on the port, and CIDRs it admits. */
  admittedGroups: Set<string>
  admittedCidrs: string[]
  subnets: Map<string, {vpcId: string; cidr: string}>
  /** Route table of each subnet (explicit association, else the VPC's main table). */
  routeTableOf: Map<string, string>
  /** Route tables with an available DynamoDB gateway endpoint or a default route to a NAT gateway. */
  dynamoRoutes: Map<string, 'gateway endpoint' | 'NAT gateway'>
}

/**
 * Each function's own path, not only cct's probe: in the cache's VPC, with a group the
 * cache group admits, subnets whose route table reaches DynamoDB, the current cct layer,
 * the env that names the endpoint, and the same for the aliases that receive traffic.
 * Read-only.
 */
export async function checkFunctionPaths(
  ec2: EC2Client,
  lambda: LambdaClient,
  stack: StackNetwork,
  functions: FunctionInfo[],
): Promise<FunctionPath[]> {
  const facts = await readNetwork(ec2, stack, [...new Set(functions.flatMap((fn) => fn.subnetIds))])
  return mapBounded(functions, FUNCTION_CONCURRENCY, async (fn) => {
    const checks = [...configurationChecks(fn, stack, facts), await aliasCheck(lambda, fn, stack, facts)]
    return {name: fn.name, ok: checks.every((c) => c.ok), checks}
  })
}

function configurationChecks(
  fn: FunctionInfo | FunctionConfigView,
  stack: StackNetwork,
  facts: NetworkFacts,
): PathCheck[] {
  const checks: PathCheck[] = []
  const inVpc = fn.vpcId === stack.vpcId
  checks.push({
    check: 'vpc',
    ok: inVpc,
    detail: inVpc
      ? `in ${stack.vpcId}`
      : fn.vpcId
        ? `in ${fn.vpcId}, the cache is in ${stack.vpcId}`
        : 'not in a VPC: the cache answers only inside its VPC',
    fix: inVpc ? undefined : 'cct attach',
  })
  const admitted = fn.securityGroupIds.filter((g) => facts.admittedGroups.has(g))
  const byCidr = fn.subnetIds.some((s) => {
    const cidr = facts.subnets.get(s)?.cidr
    return cidr !== undefined && facts.admittedCidrs.some((c) => contains(c, cidr))
  })
  checks.push({
    check: 'security group',
    ok: inVpc && (admitted.length > 0 || byCidr),
    detail: admitted.length
      ? `${admitted.join(', ')} admitted by ${stack.cacheGroupId} on ${stack.port}`
      : byCidr
        ? `its subnet is admitted by ${stack.cacheGroupId} on ${stack.port}`
        : `none of its groups (${fn.securityGroupIds.join(', ') || 'none'}) is admitted by ${stack.cacheGroupId} on ${stack.port}`,
    fix: admitted.length || byCidr ? undefined : 'cct attach (and cct sg if the cache group lost its rule)',
  })
  const missing = fn.subnetIds.filter((s) => !facts.dynamoRoutes.has(facts.routeTableOf.get(s) ?? ''))
  const dynamoOk = fn.vpcId === undefined || (fn.subnetIds.length > 0 && missing.length === 0)
  checks.push({
    check: 'dynamodb route',
    ok: dynamoOk,
    detail:
      fn.vpcId === undefined
        ? 'outside a VPC: direct'
        : dynamoOk
          ? [...new Set(fn.subnetIds.map((s) => facts.dynamoRoutes.get(facts.routeTableOf.get(s)!)))].join(', ')
          : `route table ${missing.map((s) => `${facts.routeTableOf.get(s) ?? '?'} of ${s}`).join(', ')} has no DynamoDB gateway endpoint or NAT route: reads hang until the function times out`,
    fix: dynamoOk ? undefined : 'cct vpc',
  })
  const current = fn.layers.includes(stack.layerVersionArn)
  const older = fn.layers.find((l) => l.startsWith(`${stack.layerArn}:`))
  checks.push({
    check: 'layer',
    ok: current,
    detail: current
      ? `${stack.layerVersionArn.split(':').slice(-2).join(':')}`
      : older
        ? `has ${older.split(':').slice(-2).join(':')}, not the current version`
        : 'no cct layer: the redis client and helper are missing',
    fix: current ? undefined : 'cct layer',
  })
  const want = {REDIS_HOST: stack.host, REDIS_PORT: String(stack.port), REDIS_TLS: String(stack.tls)}
  const wrong = Object.entries(want).filter(([k, v]) => fn.env[k] !== v)
  checks.push({
    check: 'env',
    ok: wrong.length === 0,
    detail:
      wrong.length === 0
        ? `REDIS_HOST, REDIS_PORT, REDIS_TLS=${stack.tls} match the cache`
        : wrong
            .map(
              ([k, v]) =>
                `${k} is ${fn.env[k] === undefined ? 'unset' : JSON.stringify(fn.env[k])}, the cache needs ${JSON.stringify(v)}`,
            )
            .join('; '),
    fix: wrong.length === 0 ? undefined : 'cct env',
  })
  return checks
}

type FunctionConfigView = Pick<FunctionInfo, 'vpcId' | 'subnetIds' | 'securityGroupIds' | 'layers' | 'env'>

/** Callers that invoke an alias run the version it points at, with that version's configuration. */
async function aliasCheck(
  lambda: LambdaClient,
  fn: FunctionInfo,
  stack: StackNetwork,
  facts: NetworkFacts,
): Promise<PathCheck> {
  const aliases = []
  let Marker: string | undefined
  do {
    const page = await lambda.send(new ListAliasesCommand({FunctionName: fn.name, Marker}))
    aliases.push(...(page.Aliases ?? []))
    Marker = page.NextMarker
  } while (Marker)
  const live = aliases.filter((a) => a.FunctionVersion !== '$LATEST')
  if (live.length === 0)
    return {
      check: 'aliases',
      ok: true,
      detail: aliases.length ? 'aliases point at $LATEST' : 'no aliases: callers run $LATEST',
    }
  const behind: string[] = []
  for (const alias of live) {
    const config = await lambda.send(
      new GetFunctionConfigurationCommand({FunctionName: fn.name, Qualifier: alias.Name}),
    )
    const failing = configurationChecks(view(config), stack, facts)
      .filter((c) => !c.ok)
      .map((c) => c.check)
    if (failing.length) behind.push(`${alias.Name} → version ${alias.FunctionVersion} (${failing.join(', ')})`)
  }
  return behind.length === 0
    ? {check: 'aliases', ok: true, detail: `${live.map((a) => a.Name).join(', ')} carry the same configuration`}
    : {
        check: 'aliases',
        ok: false,
        detail: `callers of ${behind.join('; ')} do not use the cache`,
        fix: `aws lambda publish-version --function-name ${fn.name}, then point the alias at it`,
      }
}

function view(config: FunctionConfiguration): FunctionConfigView {
  return {
    vpcId: config.VpcConfig?.VpcId || undefined,
    subnetIds: config.VpcConfig?.SubnetIds ?? [],
    securityGroupIds: config.VpcConfig?.SecurityGroupIds ?? [],
    layers: (config.Layers ?? []).map((l) => l.Arn!),
    env: config.Environment?.Variables ?? {},
  }
}

async function readNetwork(ec2: EC2Client, stack: StackNetwork, subnetIds: string[]): Promise<NetworkFacts> {
  const [groups, subnets, tables, endpoints] = await Promise.all([
    ec2.send(new DescribeSecurityGroupsCommand({GroupIds: [stack.cacheGroupId]})),
    subnetIds.length ? ec2.send(new DescribeSubnetsCommand({SubnetIds: subnetIds})) : {Subnets: []},
    ec2.send(new DescribeRouteTablesCommand({Filters: [{Name: 'vpc-id', Values: [stack.vpcId]}]})),
    ec2.send(new DescribeVpcEndpointsCommand({Filters: [{Name: 'vpc-id', Values: [stack.vpcId]}]})),
  ])
  const rules = (groups.SecurityGroups?.[0]?.IpPermissions ?? []).filter((p) => admitsPort(p, stack.port))
  const routeTableOf = new Map<string, string>()
  const main = tables.RouteTables?.find((t) => t.Associations?.some((a) => a.Main))?.RouteTableId
  for (const s of subnetIds) {
    const explicit = tables.RouteTables?.find((t) => t.Associations?.some((a) => a.SubnetId === s))?.RouteTableId
    const id = explicit ?? main
    if (id) routeTableOf.set(s, id)
  }
  const dynamoRoutes = new Map<string, 'gateway endpoint' | 'NAT gateway'>()
  for (const t of tables.RouteTables ?? []) {
    if (t.Routes?.some((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.NatGatewayId && r.State !== 'blackhole'))
      dynamoRoutes.set(t.RouteTableId!, 'NAT gateway')
  }
  for (const e of endpoints.VpcEndpoints ?? []) {
    if (!/\.dynamodb$/.test(e.ServiceName ?? '') || (e.State ?? '').toLowerCase() !== 'available') continue
    for (const id of e.RouteTableIds ?? []) dynamoRoutes.set(id, 'gateway endpoint')
  }
  return {
    admittedGroups: new Set(rules.flatMap((p) => (p.UserIdGroupPairs ?? []).map((g) => g.GroupId!))),
    admittedCidrs: rules.flatMap((p) => (p.IpRanges ?? []).map((r) => r.CidrIp!)),
    subnets: new Map((subnets.Subnets ?? []).map((s) => [s.SubnetId!, {vpcId: s.VpcId!, cidr: s.CidrBlock!}])),
    routeTableOf,
    dynamoRoutes,
  }
}

function admitsPort(p: IpPermission, port: number): boolean {
  if (p.IpProtocol === '-1') return true
  return p.IpProtocol === 'tcp' && (p.FromPort ?? 0) <= port && port <= (p.ToPort ?? 65535)
}
