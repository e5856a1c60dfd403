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

import {createNamed} from '../aws/create-once.js'
import {ignoring} from '../aws/errors.js'
import {deleteWhenFree, ENI_ESTIMATE, interfacesStatus} from '../aws/in-use.js'
import {
  isPending,
  operations,
  pending,
  resolvePending,
  unknownOperation,
  type Change,
  type Step,
  type StepContext,
} from '../engine/step.js'
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

/** What the sg step does; the id of a group a run creates is pending(its name). */
export type SecurityGroupsOp =
  | {kind: 'create-group'; role: Role; id: string; vpcId: string}
  | {kind: 'authorize-redis'; groupId: string; fromGroupId: string}
  | {kind: 'revoke-egress'; groupId: string; rules: IpPermission[]}
  | {kind: 'delete-group'; role: Role; groupId: string}

/** A new group starts with allow-all egress and no ingress. */
const DEFAULT_EGRESS: IpPermission[] = [{IpProtocol: '-1', IpRanges: [{CidrIp: '0.0.0.0/0'}]}]

const show = (id: string) => id.replace(/^pending:/, '')

export const securityGroupsStep: Step<'sg', SecurityGroupsState, SecurityGroupsOp> = {
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
        throw conflictError(
          `Security group ${groupName(ctx, role)} (${group.GroupId}) in ${vpcId} was not created by cct`,
          'Rename or delete it, or choose another --stack',
        )
      }
      state[role] = {id: group.GroupId!, ingress: group.IpPermissions ?? [], egress: group.IpPermissionsEgress ?? []}
    }
    return state
  },

  plan(state, ctx) {
    const changes: Change<SecurityGroupsOp>[] = []
    const {lambdaGroupId, cacheGroupId} = securityGroupsStep.output(state, ctx)
    for (const role of ['lambda', 'cache'] as const) {
      if (!state[role])
        changes.push({
          action: 'create',
          resource: 'security-group',
          name: groupName(ctx, role),
          detail: DESCRIPTIONS[role],
          op: {kind: 'create-group', role, id: pending(groupName(ctx, role)), vpcId: state.vpcId},
        })
    }
    if (!state.cache || !admitsRedisFrom(state.cache, state.lambda?.id)) {
      const detail = state.cache
        ? `ingress tcp ${REDIS_PORT} from ${show(lambdaGroupId)} missing`
        : `tcp ${REDIS_PORT} from ${groupName(ctx, 'lambda')}`
      changes.push({
        action: 'attach',
        resource: 'ingress-rule',
        name: groupName(ctx, 'cache'),
        detail,
        op: {kind: 'authorize-redis', groupId: cacheGroupId, fromGroupId: lambdaGroupId},
      })
    }
    // A cache never dials out; a new group's allow-all egress is removed (least privilege).
    if (!state.cache || state.cache.egress.length > 0) {
      const rules = (state.cache?.egress ?? DEFAULT_EGRESS).map(stripRuleIds)
      const detail = state.cache
        ? `egress ${rules.map(describeRule).join(', ')} present (the cache needs none)`
        : 'all outbound (the cache needs none)'
      changes.push({
        action: 'detach',
        resource: 'egress-rule',
        name: groupName(ctx, 'cache'),
        detail,
        ...(state.cache ? {} : {kind: 'missing' as const}),
        op: {kind: 'revoke-egress', groupId: cacheGroupId, rules},
      })
    }
    return changes
  },

  resources(state, ctx) {
    return (['lambda', 'cache'] as const)
      .filter((role) => state[role])
      .map((role) => ({resource: 'security-group', name: groupName(ctx, role)}))
  },

  output(state, ctx) {
    return {
      lambdaGroupId: state.lambda?.id ?? pending(groupName(ctx, 'lambda')),
      cacheGroupId: state.cache?.id ?? pending(groupName(ctx, 'cache')),
    }
  },

  async apply(state, plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    const created = new Map<string, string>()
    const real = (id: string) => created.get(id) ?? id
    for (const op of operations(plan)) {
      switch (op.kind) {
        case 'create-group': {
          const groupId = await createNamed(
            async () =>
              (
                await ec2.send(
                  new CreateSecurityGroupCommand({
                    GroupName: groupName(ctx, op.role),
                    Description: DESCRIPTIONS[op.role],
                    VpcId: op.vpcId,
                    TagSpecifications: [
                      {ResourceType: 'security-group', Tags: stackTags(ctx.stack, groupName(ctx, op.role))},
                    ],
                  }),
                )
              ).GroupId,
            ['InvalidGroup.Duplicate'],
            async () => {
              const group = await findGroup(ec2, op.vpcId, groupName(ctx, op.role))
              return hasStackTags(group?.Tags, ctx.stack) ? group!.GroupId : undefined
            },
          )
          created.set(op.id, groupId!)
          break
        }
        case 'authorize-redis':
          // The SDK's retry of an authorize whose reply was lost finds the rule there: that is done.
          await ignoring(['InvalidPermission.Duplicate'], () =>
            ec2.send(
              new AuthorizeSecurityGroupIngressCommand({
                GroupId: real(op.groupId),
                IpPermissions: [
                  {
                    IpProtocol: 'tcp',
                    FromPort: REDIS_PORT,
                    ToPort: REDIS_PORT,
                    UserIdGroupPairs: [{GroupId: real(op.fromGroupId), Description: 'Redis from the Lambda functions'}],
                  },
                ],
              }),
            ),
          )
          break
        case 'revoke-egress':
          await ec2.send(new RevokeSecurityGroupEgressCommand({GroupId: real(op.groupId), IpPermissions: op.rules}))
          break
        case 'delete-group':
          throw new Error('sg apply was given delete-group, which only destroy performs')
        default:
          unknownOperation(op)
      }
    }
    return resolvePending(securityGroupsStep.output(state, ctx), created)
  },

  destroyPlan(state, ctx) {
    // The cache group references the lambda group, so it goes first.
    return (['cache', 'lambda'] as const)
      .filter((role) => state[role])
      .map((role) => ({
        action: 'delete',
        resource: 'security-group',
        name: groupName(ctx, role),
        detail: state[role]!.id,
        op: {kind: 'delete-group', role, groupId: state[role]!.id},
      }))
  },

  async destroy(_state, plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    for (const op of operations(plan)) {
      if (op.kind !== 'delete-group') throw new Error(`sg destroy was given ${op.kind}, which only apply performs`)
      await deleteWhenFree(ctx, {
        what: `security group ${groupName(ctx, op.role)}`,
        remove: () => ec2.send(new DeleteSecurityGroupCommand({GroupId: op.groupId})),
        busyError: 'DependencyViolation',
        status: async () =>
          interfacesStatus(
            (
              await ec2.send(
                new DescribeNetworkInterfacesCommand({Filters: [{Name: 'group-id', Values: [op.groupId]}]}),
              )
            ).NetworkInterfaces?.length ?? 0,
          ),
        resume: 'cct rollback',
        estimate: ENI_ESTIMATE,
      })
    }
  },
}

/** "tcp 443 to 0.0.0.0/0", "all to 0.0.0.0/0": a rule as a person reads it. */
function describeRule(p: IpPermission): string {
  const protocol =
    p.IpProtocol === '-1'
      ? 'all'
      : `${p.IpProtocol}${p.FromPort === undefined ? '' : ` ${p.FromPort === p.ToPort ? p.FromPort : `${p.FromPort}-${p.ToPort}`}`}`
  const to = [
    ...(p.IpRanges ?? []).map((r) => r.CidrIp),
    ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6),
    ...(p.PrefixListIds ?? []).map((r) => r.PrefixListId),
    ...(p.UserIdGroupPairs ?? []).map((g) => g.GroupId),
  ]
  return `${protocol} to ${to.join(' ') || 'anywhere'}`
}

function admitsRedisFrom(cache: GroupInfo, lambdaGroupId: string | undefined): boolean {
  if (!lambdaGroupId) return false
  return cache.ingress.some(
    (p) =>
      p.IpProtocol === 'tcp' &&
      p.FromPort === REDIS_PORT &&
      p.ToPort === REDIS_PORT &&
      (p.UserIdGroupPairs ?? []).some((g) => g.GroupId === lambdaGroupId),
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
