import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupEgressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2'

import {deleteWhenFree, ENI_ESTIMATE, interfacesStatus} from '../aws/in-use.js'
import {isPending, pending, type Change, type Step, type StepContext} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {hasStackTags, stackTags} from '../tags.js'

export const REDIS_PORT = 6379

export interface SecurityGroupsOutput {
  /** Goes on the functions. */
  lambdaGroupId: string
  /** Goes on the cache; admits 6379 only from the lambda group. */
  cacheGroupId: string
}

declare module '../engine/step.js' {
  interface StepOutputs {
    sg: SecurityGroupsOutput
  }
}

type Role = 'lambda' | 'cache'

interface GroupInfo {
  id: string
  ingress: IpPermission[]
  egress: IpPermission[]
}

export interface SecurityGroupsState {
  vpcId: string
  lambda?: GroupInfo
  cache?: GroupInfo
}

const groupName = (ctx: StepContext, role: Role) => `${ctx.stack}-${role}-sg`

const DESCRIPTIONS: Record<Role, string> = {
  lambda: 'cct: Lambda functions that use the cache',
  cache: 'cct: the cache; admits Redis only from the Lambda group',
}

export const securityGroupsStep: Step<'sg', SecurityGroupsState> = {
  id: 'sg',
  title: 'Security groups (lambda, cache)',
  needs: ['vpc'],
  command: 'cct sg',

  async inspect(ctx) {
    const {vpcId} = ctx.need('vpc')
    const state: SecurityGroupsState = {vpcId}
    if (isPending(vpcId)) return state
    const ec2 = await ctx.aws.ec2()
    for (const role of ['lambda', 'cache'] as const) {
      const group = await findGroup(ec2, vpcId, groupName(ctx, role))
      if (!group) continue
      if (!hasStackTags(group.Tags, ctx.stack)) {
        throw conflictError(`Security group ${groupName(ctx, role)} (${group.GroupId}) in ${vpcId} was not created by cct`, 'Rename or delete it, or choose another --stack')
      }
      state[role] = {id: group.GroupId!, ingress: group.IpPermissions ?? [], egress: group.IpPermissionsEgress ?? []}
    }
    return state
  },

  plan(state, ctx) {
    const changes: Change[] = []
    for (const role of ['lambda', 'cache'] as const) {
      if (!state[role]) changes.push({action: 'create', resource: 'security-group', name: groupName(ctx, role), detail: DESCRIPTIONS[role]})
    }
    if (!state.cache || !admitsRedisFrom(state.cache, state.lambda?.id)) {
      changes.push({action: 'attach', resource: 'ingress-rule', name: groupName(ctx, 'cache'), detail: `tcp ${REDIS_PORT} from ${groupName(ctx, 'lambda')}`})
    }
    // A cache never dials out; a new group's allow-all egress is removed (least privilege).
    if (!state.cache || state.cache.egress.length > 0) {
      changes.push({action: 'detach', resource: 'egress-rule', name: groupName(ctx, 'cache'), detail: 'all outbound (the cache needs none)', ...(state.cache ? {} : {kind: 'missing' as const})})
    }
    return changes
  },

  output(state, ctx) {
    return {
      lambdaGroupId: state.lambda?.id ?? pending(groupName(ctx, 'lambda')),
      cacheGroupId: state.cache?.id ?? pending(groupName(ctx, 'cache')),
    }
  },

  async apply(state, _plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    const ensure = async (role: Role): Promise<GroupInfo> => {
      const existing = state[role]
      if (existing) return existing
      const {GroupId} = await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: groupName(ctx, role),
          Description: DESCRIPTIONS[role],
          VpcId: state.vpcId,
          TagSpecifications: [{ResourceType: 'security-group', Tags: stackTags(ctx.stack, groupName(ctx, role))}],
        }),
      )
      // A new group starts with allow-all egress and no ingress.
      return {id: GroupId!, ingress: [], egress: [{IpProtocol: '-1', IpRanges: [{CidrIp: '0.0.0.0/0'}]}]}
    }
    const lambda = await ensure('lambda')
    const cache = await ensure('cache')
    if (!admitsRedisFrom(cache, lambda.id)) {
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: cache.id,
          IpPermissions: [{IpProtocol: 'tcp', FromPort: REDIS_PORT, ToPort: REDIS_PORT, UserIdGroupPairs: [{GroupId: lambda.id, Description: 'Redis from the Lambda functions'}]}],
        }),
      )
    }
    if (cache.egress.length > 0) await ec2.send(new RevokeSecurityGroupEgressCommand({GroupId: cache.id, IpPermissions: cache.egress.map(stripRuleIds)}))
    return {lambdaGroupId: lambda.id, cacheGroupId: cache.id}
  },

  destroyPlan(state, ctx) {
    // The cache group references the lambda group, so it goes first.
    return (['cache', 'lambda'] as const)
      .filter((role) => state[role])
      .map((role) => ({action: 'delete', resource: 'security-group', name: groupName(ctx, role), detail: state[role]!.id}))
  },

  async destroy(state, _plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    for (const role of ['cache', 'lambda'] as const) {
      const group = state[role]
      if (!group) continue
      await deleteWhenFree(ctx, {
        what: `security group ${groupName(ctx, role)}`,
        remove: () => ec2.send(new DeleteSecurityGroupCommand({GroupId: group.id})),
        busyError: 'DependencyViolation',
        status: async () => interfacesStatus((await ec2.send(new DescribeNetworkInterfacesCommand({Filters: [{Name: 'group-id', Values: [group.id]}]}))).NetworkInterfaces?.length ?? 0),
        resume: 'cct rollback',
        estimate: ENI_ESTIMATE,
      })
    }
  },
}

function admitsRedisFrom(cache: GroupInfo, lambdaGroupId: string | undefined): boolean {
  if (!lambdaGroupId) return false
  return cache.ingress.some(
    (p) => p.IpProtocol === 'tcp' && p.FromPort === REDIS_PORT && p.ToPort === REDIS_PORT && (p.UserIdGroupPairs ?? []).some((g) => g.GroupId === lambdaGroupId),
  )
}

/** Describe returns rule bookkeeping that Revoke refuses. */
function stripRuleIds(p: IpPermission): IpPermission {
  return {
    IpProtocol: p.IpProtocol,
    FromPort: p.FromPort,
    ToPort: p.ToPort,
    ...(p.IpRanges?.length ? {IpRanges: p.IpRanges.map((r) => ({CidrIp: r.CidrIp}))} : {}),
    ...(p.Ipv6Ranges?.length ? {Ipv6Ranges: p.Ipv6Ranges.map((r) => ({CidrIpv6: r.CidrIpv6}))} : {}),
    ...(p.PrefixListIds?.length ? {PrefixListIds: p.PrefixListIds.map((r) => ({PrefixListId: r.PrefixListId}))} : {}),
    ...(p.UserIdGroupPairs?.length ? {UserIdGroupPairs: p.UserIdGroupPairs.map((g) => ({GroupId: g.GroupId}))} : {}),
  }
}

async function findGroup(ec2: EC2Client, vpcId: string, name: string): Promise<SecurityGroup | undefined> {
  const {SecurityGroups = []} = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        {Name: 'vpc-id', Values: [vpcId]},
        {Name: 'group-name', Values: [name]},
      ],
    }),
  )
  return SecurityGroups[0]
}
