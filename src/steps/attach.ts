import {type LambdaClient} from '@aws-sdk/client-lambda'

import {FUNCTION_CONCURRENCY, mapBounded, recordedFunctions, resolveFunctions, tagFunction, untagFunction, updateFunction, describeFunction, type FunctionInfo} from '../aws/functions.js'
import {decodeRecord, encodeRecord, recordKey, recordTagKeys} from '../aws/records.js'
import {attachVpcPolicy, detachVpcPolicy, inspectRole, partitionOf, type RoleInfo} from '../aws/roles.js'
import {isPending, isUndoing, type Change, type Step, type StepContext} from '../engine/step.js'
import {conflictError} from '../errors.js'

export interface AttachOutput {
  functions: string[]
}

declare module '../engine/step.js' {
  interface StepOutputs {
    attach: AttachOutput
  }
}

/** A function's VpcConfig before cct first changed it. */
interface VpcRecord {
  vpcId?: string
  subnetIds: string[]
  securityGroupIds: string[]
}

interface FunctionPlan {
  fn: FunctionInfo
  target?: {subnetIds: string[]; securityGroupIds: string[]}
}

export interface AttachState {
  vpcId: string
  subnetIds: string[]
  lambdaGroupId: string
  functions: FunctionPlan[]
  roles: RoleInfo[]
  /** Functions changed by cct earlier (for destroy), found by their record tag. */
  recorded: FunctionInfo[]
}

const vpcRecordKey = (ctx: StepContext) => recordKey(ctx.stack, 'vpc')
const roleRecordKey = (ctx: StepContext) => recordKey(ctx.stack, 'role-policy')

export const attachStep: Step<'attach', AttachState> = {
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
      const roleArns = [...new Set(recorded.map((f) => f.role))]
      const roles = await mapBounded(roleArns, FUNCTION_CONCURRENCY, (arn) => inspectRole(iam, arn))
      return {vpcId, subnetIds, lambdaGroupId, functions: [], roles, recorded}
    }
    const functions = await resolveFunctions(lambda, ctx.options, ctx.region)
    const plans = functions.map((fn) => planFunction(fn, vpcId, subnetIds, lambdaGroupId, ctx))
    const roleArns = [...new Set(functions.map((f) => f.role))]
    const roles = await mapBounded(roleArns, FUNCTION_CONCURRENCY, (arn) => inspectRole(iam, arn))
    return {vpcId, subnetIds, lambdaGroupId, functions: plans, roles, recorded: functions.filter((f) => decodeRecord(vpcRecordKey(ctx), f.tags))}
  },

  plan(state) {
    const changes: Change[] = []
    const rolesInUse = new Set(state.functions.filter((p) => p.target).map((p) => p.fn.role))
    for (const role of state.roles) {
      if (!role.canCreateEni && rolesInUse.has(role.arn)) changes.push({action: 'attach', resource: 'iam-role-policy', name: role.name, detail: 'service-role/AWSLambdaVPCAccessExecutionRole', kind: 'missing'})
    }
    for (const {fn, target} of state.functions) {
      if (!target) continue
      const detail = fn.vpcId ? `add ${show(state.lambdaGroupId)} (keeps its subnets and groups)` : `subnets ${target.subnetIds.map(show).join(', ')}; group ${show(state.lambdaGroupId)}`
      changes.push({action: 'update', resource: 'function-vpc', name: fn.name, detail: fn.vpcId && fn.vpcId !== state.vpcId ? `move from ${fn.vpcId} (--force): ${detail}` : detail, kind: 'missing'})
    }
    return changes
  },

  output(state) {
    return {functions: state.functions.map((p) => p.fn.name)}
  },

  async apply(state, _plan, ctx) {
    const lambda = await ctx.aws.lambda()
    const iam = await ctx.aws.iam()
    const rolesInUse = new Set(state.functions.filter((p) => p.target).map((p) => p.fn.role))
    for (const role of state.roles) {
      if (role.canCreateEni || !rolesInUse.has(role.arn)) continue
      ctx.progress(`attaching the VPC access policy to role ${role.name}`)
      await attachVpcPolicy(iam, role, roleRecordKey(ctx), partitionOf(role.arn))
    }
    await mapBounded(state.functions, FUNCTION_CONCURRENCY, async ({fn, target}) => {
      if (!target) return
      if (!decodeRecord(vpcRecordKey(ctx), fn.tags)) {
        await tagFunction(lambda, fn, encodeRecord(vpcRecordKey(ctx), {vpcId: fn.vpcId, subnetIds: fn.subnetIds, securityGroupIds: fn.securityGroupIds} satisfies VpcRecord))
      }
      ctx.progress(`${fn.name}: moving into the VPC`)
      await updateFunction(lambda, fn, (current) => {
        const next = planFunction(current, state.vpcId, state.subnetIds, state.lambdaGroupId, ctx).target
        return next ? {VpcConfig: {SubnetIds: next.subnetIds, SecurityGroupIds: next.securityGroupIds}} : undefined
      }, ctx, 'cct attach')
      ctx.progress(`${fn.name}: in the VPC`)
    })
    return {functions: state.functions.map((p) => p.fn.name)}
  },

  destroyPlan(state, ctx) {
    const changes: Change[] = state.recorded.map((fn) => ({action: 'restore', resource: 'function-vpc', name: fn.name, detail: describeRestore(fn, ctx)}))
    for (const role of state.roles) if (role.tags[roleRecordKey(ctx)]) changes.push({action: 'detach', resource: 'iam-role-policy', name: role.name, detail: 'service-role/AWSLambdaVPCAccessExecutionRole'})
    return changes
  },

  async destroy(state, _plan, ctx) {
    const lambda = await ctx.aws.lambda()
    const iam = await ctx.aws.iam()
    await mapBounded(state.recorded, FUNCTION_CONCURRENCY, (fn) => restoreFunction(lambda, fn, state, ctx))
    for (const role of state.roles) {
      if (role.tags[roleRecordKey(ctx)]) await detachVpcPolicy(iam, role.name, roleRecordKey(ctx), partitionOf(role.arn))
    }
  },
}

function planFunction(fn: FunctionInfo, vpcId: string, subnetIds: string[], lambdaGroupId: string, ctx: StepContext): FunctionPlan {
  if (!fn.vpcId || fn.subnetIds.length === 0) return {fn, target: {subnetIds, securityGroupIds: [lambdaGroupId]}}
  if (fn.vpcId === vpcId || isPending(vpcId)) {
    if (fn.securityGroupIds.includes(lambdaGroupId)) return {fn}
    return {fn, target: {subnetIds: fn.subnetIds, securityGroupIds: [...fn.securityGroupIds, lambdaGroupId]}}
  }
  if (!ctx.options.force) {
    throw conflictError(`Function ${fn.name} is in ${fn.vpcId}, not the stack's VPC ${vpcId}`, 'Pass --force to move it (cct records its current VPC config so rollback restores it), or leave it out of --functions')
  }
  return {fn, target: {subnetIds, securityGroupIds: [lambdaGroupId]}}
}

/**
 * Undo cct's VPC change and keep any change made since: the lambda group comes off; a
 * function that had no VPC leaves it (if it is still in cct's subnets); a function moved
 * with --force goes back to its recorded config.
 */
async function restoreFunction(lambda: LambdaClient, recordedFn: FunctionInfo, state: AttachState, ctx: StepContext): Promise<void> {
  const fn = (await describeFunction(lambda, recordedFn.name)) ?? recordedFn
  const before = decodeRecord<VpcRecord>(vpcRecordKey(ctx), fn.tags)!
  ctx.progress(`${fn.name}: restoring its VPC configuration`)
  await updateFunction(lambda, fn, (current) => {
    const target = restoredVpc(current, before, state)
    return target ? {VpcConfig: target} : undefined
  }, ctx, 'cct rollback')
  await untagFunction(lambda, fn, recordTagKeys(vpcRecordKey(ctx), fn.tags))
}

function restoredVpc(fn: FunctionInfo, before: VpcRecord, state: AttachState): {SubnetIds: string[]; SecurityGroupIds: string[]} | undefined {
  const inOurSubnets = fn.subnetIds.length > 0 && fn.subnetIds.every((s) => state.subnetIds.includes(s))
  if (before.subnetIds.length === 0) {
    if (!inOurSubnets && fn.subnetIds.length > 0) return withoutGroup(fn, state.lambdaGroupId)
    return fn.subnetIds.length ? {SubnetIds: [], SecurityGroupIds: []} : undefined
  }
  if (before.vpcId && before.vpcId !== state.vpcId && inOurSubnets) return {SubnetIds: before.subnetIds, SecurityGroupIds: before.securityGroupIds}
  return withoutGroup(fn, state.lambdaGroupId)
}

function withoutGroup(fn: FunctionInfo, groupId: string): {SubnetIds: string[]; SecurityGroupIds: string[]} | undefined {
  if (!fn.securityGroupIds.includes(groupId)) return undefined
  return {SubnetIds: fn.subnetIds, SecurityGroupIds: fn.securityGroupIds.filter((g) => g !== groupId)}
}

function describeRestore(fn: FunctionInfo, ctx: StepContext): string {
  const before = decodeRecord<VpcRecord>(vpcRecordKey(ctx), fn.tags)!
  return before.subnetIds.length === 0 ? 'out of the VPC' : `back to ${before.vpcId ?? 'its VPC'} (${before.subnetIds.length} subnets, ${before.securityGroupIds.length} groups)`
}

function show(id: string): string {
  return id.replace(/^pending:/, 'new ')
}

