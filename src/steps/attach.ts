import {
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeVpcEndpointsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2'
import {type LambdaClient} from '@aws-sdk/client-lambda'

import {
  FUNCTION_CONCURRENCY,
  MAX_SECURITY_GROUPS,
  publishedVersions,
  type PublishedVersion,
  mapBounded,
  recordedFunctions,
  resolveFunctions,
  tagFunction,
  updateFunction,
  type FunctionInfo,
} from '../aws/functions.js'
import {ENI_ESTIMATE, interfacesStatus} from '../aws/in-use.js'
import {decodeRecord, encodeRecord, recordKey} from '../aws/records.js'
import {waitUntil} from '../aws/wait.js'
import {
  attachVpcPolicy,
  detachVpcPolicy,
  inspectRole,
  partitionOf,
  recordedRoleArns,
  type RoleInfo,
} from '../aws/roles.js'
import {
  isPending,
  isUndoing,
  operations,
  unknownOperation,
  type Change,
  type Step,
  type StepContext,
} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {describeLosses, envNeeds, lossesIn, type Loss, type VpcReach} from '../net/reach.js'
import {restoreFunctions, type RestorePart} from './function-restore.js'
import {functionTally} from './function-tally.js'

export interface AttachOutput {
  functions: string[]
}

declare module '../engine/step.js' {
  interface StepOutputs {
    attach: AttachOutput
  }
}

/** A function's VpcConfig before cct first changed it. */
export interface VpcRecord {
  vpcId?: string
  subnetIds: string[]
  securityGroupIds: string[]
}

interface FunctionPlan {
  fn: FunctionInfo
  /** Where the function should be; `addsGroup` when it stays in its subnets and only gains the lambda group. */
  target?: {addsGroup: boolean; subnetIds: string[]; securityGroupIds: string[]}
  /** Moved into the VPC, what its environment needs that the VPC does not give (no NAT). */
  loses?: Loss[]
}

export interface AttachState {
  vpcId: string
  subnetIds: string[]
  lambdaGroupId: string
  functions: FunctionPlan[]
  roles: RoleInfo[]
  /** Functions changed by cct earlier (for destroy), found by their record tag. */
  recorded: FunctionInfo[]
  /**
   * Published versions of the functions, by function name: they keep their own configuration.
   * Not read when inspecting for an apply: there they only make a note, which the apply makes.
   */
  versions?: Record<string, PublishedVersion[]>
}

const vpcRecordKey = (ctx: StepContext) => recordKey(ctx.stack, 'vpc')
const roleRecordKey = (ctx: StepContext) => recordKey(ctx.stack, 'role-policy')

/** What the attach step does to functions (and their roles); ids a run creates are pending. */
export type AttachOp =
  | {kind: 'attach-role-policy'; roleName: string; roleArn: string}
  /** In the stack's VPC already: the lambda group joins its groups; its subnets and groups stay. */
  | {kind: 'add-security-group'; functionName: string; groupId: string}
  /** Not in a VPC (or moved from another with --force): the stack's subnets and the lambda group. */
  | {kind: 'move-into-vpc'; functionName: string; subnetIds: string[]; securityGroupIds: string[]; loses?: Loss[]}
  | {kind: 'restore-vpc-config'; functionName: string}
  | {kind: 'detach-role-policy'; roleName: string; roleArn: string}

export const attachStep: Step<'attach', AttachState, AttachOp> = {
  id: 'attach',
  title: 'Functions into the VPC',
  needs: ['vpc', 'sg'],
  command: 'cct attach',

  async inspect(ctx) {
    const {vpcId, subnetIds} = ctx.need('vpc')
    const {lambdaGroupId} = ctx.need('sg')
    const lambda = await ctx.aws.lambda()
    const iam = await ctx.aws.iam()
    if (isUndoing(ctx)) {
      const recorded = await recordedFunctions(lambda, vpcRecordKey(ctx))
      // The roles by their own record too: the functions' records are cleared before the roles'.
      const tagged = await recordedRoleArns(iam, roleRecordKey(ctx), FUNCTION_CONCURRENCY)
      const roleArns = [...new Set([...recorded.map((f) => f.role), ...tagged])]
      const roles = await mapBounded(roleArns, FUNCTION_CONCURRENCY, (arn) => inspectRole(iam, arn))
      return {
        vpcId,
        subnetIds,
        lambdaGroupId,
        functions: [],
        roles,
        recorded,
        versions: await versionsOf(lambda, recorded),
      }
    }
    const functions = await resolveFunctions(lambda, ctx.options, ctx.region)
    const plans = functions.map((fn) => planFunction(fn, vpcId, subnetIds, lambdaGroupId, ctx))
    await findLosses(plans, ctx)
    const roleArns = [...new Set(functions.map((f) => f.role))]
    const roles = await mapBounded(roleArns, FUNCTION_CONCURRENCY, (arn) => inspectRole(iam, arn))
    return {
      vpcId,
      subnetIds,
      lambdaGroupId,
      functions: plans,
      roles,
      recorded: functions.filter((f) => decodeRecord(vpcRecordKey(ctx), f.tags)),
      // A ListVersionsByFunction per function, on Lambda's 15/s: fifty functions' took 2-3 s
      // before the cache's creation could start. Applying, the apply reads them beside its
      // updates (its note is read after the run, like every note of a run with --yes).
      ...(ctx.mode === 'apply' ? {} : {versions: await versionsOf(lambda, functions)}),
    }
  },

  plan(state, ctx) {
    const changes: Change<AttachOp>[] = []
    noteVersions(state.versions ?? {}, ctx)
    const rolesInUse = new Set(state.functions.filter((p) => p.target).map((p) => p.fn.role))
    for (const role of state.roles) {
      if (!role.canCreateEni && rolesInUse.has(role.arn)) {
        changes.push({
          action: 'attach',
          resource: 'iam-role-policy',
          name: role.name,
          detail: 'service-role/AWSLambdaVPCAccessExecutionRole',
          kind: 'missing',
          op: {kind: 'attach-role-policy', roleName: role.name, roleArn: role.arn},
        })
      }
    }
    for (const {fn, target} of state.functions) {
      if (!target) continue
      // Attached by cct before and changed since: drift; never attached: missing.
      const kind = decodeRecord(vpcRecordKey(ctx), fn.tags) ? 'drift' : 'missing'
      if (target.addsGroup) {
        const detail = `security groups differ: has ${fn.securityGroupIds.join(', ')}, needs ${show(state.lambdaGroupId)} too (keeps its subnets and groups)`
        changes.push({
          action: 'update',
          resource: 'function-vpc',
          name: fn.name,
          detail,
          kind,
          op: {kind: 'add-security-group', functionName: fn.name, groupId: state.lambdaGroupId},
        })
        continue
      }
      const into = `subnets ${target.subnetIds.map(show).join(', ')}; group ${show(state.lambdaGroupId)}`
      const loses = state.functions.find((p) => p.fn.name === fn.name)?.loses ?? []
      const lost = loses.length ? `; without a NAT gateway it loses ${describeLosses(loses)}` : ''
      const detail = (fn.vpcId ? `move from ${fn.vpcId} (--force): ${into}` : `not in a VPC: ${into}`) + lost
      changes.push({
        action: 'update',
        resource: 'function-vpc',
        name: fn.name,
        detail,
        kind,
        op: {
          kind: 'move-into-vpc',
          functionName: fn.name,
          subnetIds: target.subnetIds,
          securityGroupIds: target.securityGroupIds,
          ...(loses.length ? {loses} : {}),
        },
      })
    }
    return changes
  },

  resources(state, ctx) {
    return [
      // A role's policy is cct's part only where cct attached it (its record says so).
      ...state.roles
        .filter((r) => r.tags[roleRecordKey(ctx)])
        .map((r) => ({resource: 'iam-role-policy', name: r.name})),
      ...state.functions.map((p) => ({resource: 'function-vpc', name: p.fn.name})),
    ]
  },

  output(state) {
    return {functions: state.functions.map((p) => p.fn.name)}
  },

  /** Each function's record of its VpcConfig, as the run starts applying (tagFunction makes it one write with the others'). */
  async recordAhead(state, plan, ctx) {
    const lambda = await ctx.aws.lambda()
    await mapBounded(operations(plan), FUNCTION_CONCURRENCY, async (op) => {
      if (op.kind === 'add-security-group' || op.kind === 'move-into-vpc')
        await recordVpc(lambda, state.functions.find((p) => p.fn.name === op.functionName)!.fn, ctx)
    })
  },

  async apply(state, plan, ctx) {
    const lambda = await ctx.aws.lambda()
    const iam = await ctx.aws.iam()
    const ops = operations(plan)
    const versions = state.versions
      ? undefined
      : versionsOf(
          lambda,
          state.functions.map((p) => p.fn),
        )
    const fnOf = (name: string) => state.functions.find((p) => p.fn.name === name)!.fn
    // Roles first: a function moved into a VPC needs its role's ENI permissions.
    for (const op of ops) {
      if (op.kind !== 'attach-role-policy') continue
      ctx.progress(`attaching the VPC access policy to role ${op.roleName}`)
      const role = state.roles.find((r) => r.arn === op.roleArn)!
      await attachVpcPolicy(iam, role, roleRecordKey(ctx), partitionOf(op.roleArn))
    }
    const tally = functionTally(
      ctx,
      ops.flatMap((op) => (op.kind === 'add-security-group' || op.kind === 'move-into-vpc' ? [op.functionName] : [])),
    )
    await mapBounded(ops, FUNCTION_CONCURRENCY, async (op) => {
      switch (op.kind) {
        case 'attach-role-policy':
          return
        case 'add-security-group':
        case 'move-into-vpc': {
          const fn = fnOf(op.functionName)
          await recordVpc(lambda, fn, ctx) // made ahead as a rule; here if the plan was made again
          tally.set(fn.name, 'moving into the VPC')
          await updateFunction(lambda, fn, (current) => vpcUpdate(current, op), ctx, 'cct attach')
          tally.set(fn.name, 'in the VPC')
          return
        }
        case 'restore-vpc-config':
        case 'detach-role-policy':
          throw new Error(`attach apply was given ${op.kind}, which only destroy performs`)
        default:
          unknownOperation(op)
      }
    })
    if (versions) noteVersions(await versions, ctx)
    return {functions: state.functions.map((p) => p.fn.name)}
  },

  destroyPlan(state, ctx) {
    // A version published while a function was in cct's VPC keeps cct's subnets and group
    // (a version's VpcConfig cannot change), and with them network interfaces that block
    // deleting the subnets and groups for good: say which, and what to do, before any change.
    const holders = Object.entries(state.versions ?? {}).flatMap(([name, versions]) =>
      versions
        .filter(
          (v) =>
            v.securityGroupIds.includes(state.lambdaGroupId) || v.subnetIds.some((s) => state.subnetIds.includes(s)),
        )
        .map((v) => ({name, ...v})),
    )
    if (holders.length) {
      const list = holders
        .map((h) => `${h.name}:${h.version}${h.aliases.length ? ` (alias ${h.aliases.join(', ')})` : ''}`)
        .join(', ')
      const first = holders[0]!
      throw conflictError(
        `Published version${holders.length > 1 ? 's' : ''} ${list} still use${holders.length > 1 ? '' : 's'} cct's subnets and security group (a version keeps its VpcConfig), so Lambda keeps their network interfaces and the rollback could never delete the network`,
        `Point their aliases at a version published outside the VPC (or at $LATEST after the rollback), delete those versions (aws lambda delete-function --function-name ${first.name} --qualifier ${first.version}), then run \`cct rollback\` again`,
      )
    }
    const changes: Change<AttachOp>[] = state.recorded.map((fn) => ({
      action: 'restore',
      resource: 'function-vpc',
      name: fn.name,
      detail: describeRestore(fn, ctx),
      op: {kind: 'restore-vpc-config', functionName: fn.name},
    }))
    for (const role of state.roles) {
      if (role.tags[roleRecordKey(ctx)])
        changes.push({
          action: 'detach',
          resource: 'iam-role-policy',
          name: role.name,
          detail: 'service-role/AWSLambdaVPCAccessExecutionRole',
          op: {kind: 'detach-role-policy', roleName: role.name, roleArn: role.arn},
        })
    }
    return changes
  },

  async destroy(state, plan, ctx) {
    const iam = await ctx.aws.iam()
    const ops = operations(plan)
    const parts = new Map<string, RestorePart>()
    for (const op of ops) {
      if (op.kind !== 'restore-vpc-config') continue
      parts.set(op.functionName, {
        recordKey: vpcRecordKey(ctx),
        what: 'VPC configuration',
        update: (current, record) => {
          const target = restoredVpc(current, record as VpcRecord, state)
          return target ? {VpcConfig: keepDualStack(current, target)} : undefined
        },
      })
    }
    await restoreFunctions(ctx, 'attach', parts)
    // Lambda deletes a function's network interfaces with the function's role: detached
    // first, the policy would leave them (and the subnets and groups they hold) for good.
    if (ops.some((op) => op.kind === 'detach-role-policy') && !isPending(state.lambdaGroupId))
      await waitForLambdaInterfaces(await ctx.aws.ec2(), state.lambdaGroupId, ctx)
    for (const op of ops) {
      if (op.kind === 'detach-role-policy')
        await detachVpcPolicy(iam, op.roleName, roleRecordKey(ctx), partitionOf(op.roleArn))
      else if (op.kind !== 'restore-vpc-config')
        throw new Error(`attach destroy was given ${op.kind}, which only apply performs`)
    }
  },
}

/** The note for published versions: cct changes $LATEST, which their callers do not run. */
function noteVersions(byFunction: Record<string, PublishedVersion[]>, ctx: StepContext): void {
  for (const [name, versions] of Object.entries(byFunction)) {
    if (versions.length === 0) continue
    const aliases = versions.flatMap((v) => v.aliases.map((a) => `${a} → ${v.version}`))
    ctx.note(
      `${name} has published version${versions.length > 1 ? 's' : ''} ${versions.map((v) => v.version).join(', ')}${aliases.length ? ` (aliases ${aliases.join(', ')})` : ''}: a version keeps the configuration it was published with, so callers of them get no VPC, layer or REDIS_*; cct changes $LATEST only. After setup, publish a version (aws lambda publish-version --function-name ${name}) and point the aliases at it.`,
    )
  }
}

/** Records the function's VpcConfig before cct's first change to it (a later run keeps the first record). */
async function recordVpc(lambda: LambdaClient, fn: FunctionInfo, ctx: StepContext): Promise<void> {
  if (decodeRecord(vpcRecordKey(ctx), fn.tags)) return
  const record: VpcRecord = {vpcId: fn.vpcId, subnetIds: fn.subnetIds, securityGroupIds: fn.securityGroupIds}
  await tagFunction(lambda, fn, encodeRecord(vpcRecordKey(ctx), record))
}

async function versionsOf(
  lambda: LambdaClient,
  functions: FunctionInfo[],
): Promise<Record<string, PublishedVersion[]>> {
  const found = await mapBounded(functions, FUNCTION_CONCURRENCY, (fn) => publishedVersions(lambda, fn.name))
  return Object.fromEntries(functions.map((fn, i) => [fn.name, found[i]!]))
}

/** Waits until no Lambda network interface carries the lambda group (they linger 20-40 minutes after a function leaves). */
async function waitForLambdaInterfaces(ec2: EC2Client, groupId: string, ctx: StepContext): Promise<void> {
  await waitUntil(
    ctx,
    `Lambda to release the functions' network interfaces before the VPC policy is detached`,
    async () => {
      const {NetworkInterfaces = []} = await ec2.send(
        new DescribeNetworkInterfacesCommand({
          Filters: [
            {Name: 'group-id', Values: [groupId]},
            {Name: 'interface-type', Values: ['lambda']},
          ],
        }),
      )
      return {done: NetworkInterfaces.length === 0, status: interfacesStatus(NetworkInterfaces.length)}
    },
    'cct rollback',
    ENI_ESTIMATE,
  )
}

/** The VpcConfig update an operation makes to the function as it is now; undefined when it is already so. */
export function vpcUpdate(
  current: FunctionInfo,
  op: Extract<AttachOp, {kind: 'add-security-group' | 'move-into-vpc'}>,
): {VpcConfig: VpcConfigUpdate} | undefined {
  if (op.kind === 'add-security-group') {
    if (current.securityGroupIds.includes(op.groupId)) return undefined
    return {
      VpcConfig: keepDualStack(current, {
        SubnetIds: current.subnetIds,
        SecurityGroupIds: [...current.securityGroupIds, op.groupId],
      }),
    }
  }
  if (sameSet(current.subnetIds, op.subnetIds) && sameSet(current.securityGroupIds, op.securityGroupIds))
    return undefined
  return {VpcConfig: keepDualStack(current, {SubnetIds: op.subnetIds, SecurityGroupIds: op.securityGroupIds})}
}

type VpcConfigUpdate = {SubnetIds: string[]; SecurityGroupIds: string[]; Ipv6AllowedForDualStack?: boolean}

/**
 * A VpcConfig sent without Ipv6AllowedForDualStack sets it to false (it is part of the
 * VpcConfig Lambda replaces): send it back as it was, while the function stays in a VPC.
 */
function keepDualStack(current: FunctionInfo, config: VpcConfigUpdate): VpcConfigUpdate {
  return current.ipv6DualStack !== undefined && config.SubnetIds.length > 0
    ? {...config, Ipv6AllowedForDualStack: current.ipv6DualStack}
    : config
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}

/** Where a function should be: unchanged (no target), its own VPC plus the lambda group, or the stack's subnets. */
/**
 * Functions moved into the VPC without --nat lose the internet and every AWS service without
 * an endpoint: what each one's environment needs of them, unless the subnets' route tables
 * already have a way out or the VPC an interface endpoint for the service.
 */
async function findLosses(plans: FunctionPlan[], ctx: StepContext): Promise<void> {
  if (ctx.options.nat) return
  const moving = plans
    .filter((p) => p.target && !p.target.addsGroup)
    .map((p) => ({p, needs: envNeeds(p.fn.env)}))
    .filter((m) => m.needs.length)
  if (moving.length === 0) return
  const reach = await vpcReach(ctx)
  for (const {p, needs} of moving) {
    const loses = lossesIn(needs, reach)
    if (loses.length) p.loses = loses
  }
}

async function vpcReach(ctx: StepContext): Promise<VpcReach> {
  const {vpcId, routeTableIds} = ctx.need('vpc')
  if (isPending(vpcId)) return {internet: false, endpoints: []}
  const ec2 = await ctx.aws.ec2()
  const known = routeTableIds.filter((id) => !isPending(id))
  const [{RouteTables = []}, {VpcEndpoints = []}] = await Promise.all([
    known.length ? ec2.send(new DescribeRouteTablesCommand({RouteTableIds: known})) : {RouteTables: []},
    ec2.send(
      new DescribeVpcEndpointsCommand({
        Filters: [
          {Name: 'vpc-id', Values: [vpcId]},
          {Name: 'vpc-endpoint-type', Values: ['Interface']},
        ],
      }),
    ),
  ])
  // Every subnet must have a way out; a gateway endpoint route or the local route is not one.
  const internet =
    known.length > 0 &&
    RouteTables.length === known.length &&
    RouteTables.every((t) =>
      (t.Routes ?? []).some(
        (r) =>
          r.DestinationCidrBlock === '0.0.0.0/0' &&
          r.State !== 'blackhole' &&
          (r.NatGatewayId || r.InstanceId || r.TransitGatewayId || r.NetworkInterfaceId),
      ),
    )
  const prefix = `com.amazonaws.${ctx.region}.`
  const endpoints = VpcEndpoints.filter(
    (e) =>
      !['deleted', 'Deleted', 'deleting', 'Deleting', 'failed', 'Failed'].includes(String(e.State)) &&
      e.ServiceName?.startsWith(prefix),
  ).map((e) => e.ServiceName!.slice(prefix.length))
  return {internet, endpoints}
}

export function planFunction(
  fn: FunctionInfo,
  vpcId: string,
  subnetIds: string[],
  lambdaGroupId: string,
  ctx: Pick<StepContext, 'options'>,
): FunctionPlan {
  if (!fn.vpcId || fn.subnetIds.length === 0)
    return {fn, target: {addsGroup: false, subnetIds, securityGroupIds: [lambdaGroupId]}}
  if (fn.vpcId === vpcId || isPending(vpcId)) {
    if (fn.securityGroupIds.includes(lambdaGroupId)) return {fn}
    if (fn.securityGroupIds.length >= MAX_SECURITY_GROUPS) {
      throw conflictError(
        `Function ${fn.name} already has ${fn.securityGroupIds.length} security groups; Lambda allows ${MAX_SECURITY_GROUPS}, and cct's lambda group would be one more`,
        'Remove one of its groups (or merge two), or leave it out of --functions',
      )
    }
    return {
      fn,
      target: {addsGroup: true, subnetIds: fn.subnetIds, securityGroupIds: [...fn.securityGroupIds, lambdaGroupId]},
    }
  }
  if (!ctx.options.force) {
    throw conflictError(
      `Function ${fn.name} is in ${fn.vpcId}, not the stack's VPC ${vpcId}`,
      'Pass --force to move it (cct records its current VPC config so rollback restores it), or leave it out of --functions',
    )
  }
  return {fn, target: {addsGroup: false, subnetIds, securityGroupIds: [lambdaGroupId]}}
}

/**
 * Undo cct's VPC change and keep any change made since: the lambda group comes off; a
 * function that had no VPC leaves it (if it is still in cct's subnets); a function moved
 * with --force goes back to its recorded config.
 */
export function restoredVpc(
  fn: FunctionInfo,
  before: VpcRecord,
  state: Pick<AttachState, 'vpcId' | 'subnetIds' | 'lambdaGroupId'>,
): {SubnetIds: string[]; SecurityGroupIds: string[]} | undefined {
  const inOurSubnets = fn.subnetIds.length > 0 && fn.subnetIds.every((s) => state.subnetIds.includes(s))
  if (before.subnetIds.length === 0) {
    if (!inOurSubnets && fn.subnetIds.length > 0) return withoutGroup(fn, state.lambdaGroupId)
    return fn.subnetIds.length ? {SubnetIds: [], SecurityGroupIds: []} : undefined
  }
  if (before.vpcId && before.vpcId !== state.vpcId && inOurSubnets)
    return {SubnetIds: before.subnetIds, SecurityGroupIds: before.securityGroupIds}
  return withoutGroup(fn, state.lambdaGroupId)
}

function withoutGroup(
  fn: FunctionInfo,
  groupId: string,
): {SubnetIds: string[]; SecurityGroupIds: string[]} | undefined {
  if (!fn.securityGroupIds.includes(groupId)) return undefined
  return {SubnetIds: fn.subnetIds, SecurityGroupIds: fn.securityGroupIds.filter((g) => g !== groupId)}
}

function describeRestore(fn: FunctionInfo, ctx: StepContext): string {
  const before = decodeRecord<VpcRecord>(vpcRecordKey(ctx), fn.tags)!
  return before.subnetIds.length === 0
    ? 'out of the VPC'
    : `back to ${before.vpcId ?? 'its VPC'} (${before.subnetIds.length} subnets, ${before.securityGroupIds.length} groups)`
}

function show(id: string): string {
  return id.replace(/^pending:/, 'new ')
}
