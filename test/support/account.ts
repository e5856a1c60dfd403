/**
 * The whole sandbox account as a user would compare it before setup and after rollback:
 * every network resource (Elastic IPs too), cache, function (configuration and tags), layer
 * version, role (policies and tags), topic, alarm and dashboard. Resources AWS keeps listing once deleted (NAT
 * gateways, endpoints in state deleted) are left out, as a user would.
 */
import {CloudWatchClient, DescribeAlarmsCommand, ListDashboardsCommand} from '@aws-sdk/client-cloudwatch'
import {
  DescribeAddressesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {
  DescribeCacheSubnetGroupsCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache'
import {IAMClient, ListAttachedRolePoliciesCommand, ListRolesCommand, ListRoleTagsCommand} from '@aws-sdk/client-iam'
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListFunctionsCommand,
  ListLayerVersionsCommand,
  ListLayersCommand,
  ListTagsCommand,
} from '@aws-sdk/client-lambda'
import {ListTopicsCommand, SNSClient} from '@aws-sdk/client-sns'

import type {Located} from './cct.js'

const tags = (list?: {Key?: string; Value?: string}[]) =>
  Object.fromEntries((list ?? []).map((t) => [t.Key, t.Value]).sort(([a], [b]) => String(a).localeCompare(String(b))))
const sorted = <T>(items: T[]) => items.map((i) => JSON.stringify(i)).sort()

export async function accountSnapshot(s: Located): Promise<Record<string, unknown>> {
  const config = {endpoint: s.endpoint, region: s.region, maxAttempts: 1}
  const ec2 = new EC2Client(config)
  const elasticache = new ElastiCacheClient(config)
  const lambda = new LambdaClient(config)
  const iam = new IAMClient(config)
  const sns = new SNSClient(config)
  const cloudwatch = new CloudWatchClient(config)
  const vpcs = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []
  const subnets = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []
  const groups = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []
  const tables = (await ec2.send(new DescribeRouteTablesCommand({}))).RouteTables ?? []
  const gateways = (await ec2.send(new DescribeInternetGatewaysCommand({}))).InternetGateways ?? []
  const nats = (await ec2.send(new DescribeNatGatewaysCommand({}))).NatGateways ?? []
  const endpoints = (await ec2.send(new DescribeVpcEndpointsCommand({}))).VpcEndpoints ?? []
  const addresses = (await ec2.send(new DescribeAddressesCommand({}))).Addresses ?? []
  const functions: Record<string, unknown> = {}
  for (const f of (await lambda.send(new ListFunctionsCommand({}))).Functions ?? []) {
    const c = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: f.FunctionName!}))
    const {Tags} = await lambda.send(new ListTagsCommand({Resource: c.FunctionArn!}))
    functions[f.FunctionName!] = {
      env: c.Environment?.Variables ?? {},
      layers: (c.Layers ?? []).map((l) => l.Arn),
      vpc: [...(c.VpcConfig?.SubnetIds ?? []), ...(c.VpcConfig?.SecurityGroupIds ?? [])].sort(),
      role: c.Role,
      tags: Tags ?? {},
    }
  }
  // Every version: a publish whose reply was lost and was sent again leaves one more.
  const layers: string[] = []
  for (const l of (await lambda.send(new ListLayersCommand({}))).Layers ?? []) {
    const {LayerVersions = []} = await lambda.send(new ListLayerVersionsCommand({LayerName: l.LayerName!}))
    for (const v of LayerVersions) layers.push(`${l.LayerName}:${v.Version}`)
  }
  const roles: Record<string, unknown> = {}
  for (const r of (await iam.send(new ListRolesCommand({}))).Roles ?? []) {
    const policies = (await iam.send(new ListAttachedRolePoliciesCommand({RoleName: r.RoleName!}))).AttachedPolicies
    roles[r.RoleName!] = {
      policies: (policies ?? []).map((p) => p.PolicyArn).sort(),
      tags: tags((await iam.send(new ListRoleTagsCommand({RoleName: r.RoleName!}))).Tags),
    }
  }
  return {
    vpcs: sorted(vpcs.map((v) => ({id: v.VpcId, cidr: v.CidrBlock, tags: tags(v.Tags)}))),
    subnets: sorted(subnets.map((n) => ({id: n.SubnetId, cidr: n.CidrBlock, tags: tags(n.Tags)}))),
    groups: sorted(groups.map((g) => ({id: g.GroupId, name: g.GroupName, tags: tags(g.Tags)}))),
    routeTables: sorted(tables.map((t) => ({id: t.RouteTableId, routes: t.Routes?.length, tags: tags(t.Tags)}))),
    internetGateways: sorted(gateways.map((g) => ({id: g.InternetGatewayId, tags: tags(g.Tags)}))),
    natGateways: sorted(nats.filter((n) => !/delet/i.test(n.State ?? '')).map((n) => n.NatGatewayId)),
    endpoints: sorted(endpoints.filter((e) => !/delet/i.test(e.State ?? '')).map((e) => e.VpcEndpointId)),
    addresses: sorted(addresses.map((a) => ({id: a.AllocationId, tags: tags(a.Tags)}))),
    replicationGroups: sorted(
      ((await elasticache.send(new DescribeReplicationGroupsCommand({}))).ReplicationGroups ?? []).map(
        (g) => g.ReplicationGroupId,
      ),
    ),
    cacheSubnetGroups: sorted(
      ((await elasticache.send(new DescribeCacheSubnetGroupsCommand({}))).CacheSubnetGroups ?? []).map(
        (g) => g.CacheSubnetGroupName,
      ),
    ),
    functions,
    layers: layers.sort(),
    roles,
    topics: sorted(((await sns.send(new ListTopicsCommand({}))).Topics ?? []).map((t) => t.TopicArn)),
    alarms: sorted(((await cloudwatch.send(new DescribeAlarmsCommand({}))).MetricAlarms ?? []).map((a) => a.AlarmName)),
    dashboards: sorted(
      ((await cloudwatch.send(new ListDashboardsCommand({}))).DashboardEntries ?? []).map((d) => d.DashboardName),
    ),
  }
}

type Snapshot = Record<string, unknown>
type Recorded = {tags: Record<string, string>}

/**
 * The changes cct made to what it does not own (a function's configuration, a role's
 * policies) that carry no record of cct's (a `cct:<stack>:…` tag) on the same resource:
 * what no rollback could undo exactly. Empty after any kill, denial or lost reply.
 */
export function unrecordedChanges(before: Snapshot, now: Snapshot): string[] {
  const out: string[] = []
  const recorded = (r: Recorded) => Object.keys(r.tags).some((k) => k.startsWith('cct:') && k !== 'cct:stack')
  for (const kind of ['functions', 'roles'] as const) {
    const then = before[kind] as Record<string, Recorded & Record<string, unknown>>
    const current = now[kind] as Record<string, Recorded & Record<string, unknown>>
    for (const [name, was] of Object.entries(then)) {
      const is = current[name]
      if (!is || recorded(is)) continue
      const {tags: _then, ...config} = was
      const {tags: _now, ...configNow} = is
      if (JSON.stringify(config) !== JSON.stringify(configNow))
        out.push(`${kind}.${name} changed with no record of cct's`)
    }
  }
  return out
}
