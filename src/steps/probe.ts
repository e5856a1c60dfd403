import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam'
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda'
import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {IAMClient} from '@aws-sdk/client-iam'
import type {FunctionConfiguration, LambdaClient} from '@aws-sdk/client-lambda'

import {createNamed} from '../aws/create-once.js'
import {partitionOf, vpcAccessPolicyArn} from '../aws/roles.js'
import {waitForFunction} from '../aws/functions.js'
import {hasPending, operations, unknownOperation, type Change, type Step, type StepContext} from '../engine/step.js'
import {CctError, conflictError} from '../errors.js'
import {BUNDLE_DIR} from '../layer-bundle.js'
import {hasStackTags, stackTags, tagMap} from '../tags.js'
import {isAwsError} from '../aws/errors.js'

export interface ProbeOutput {
  functionName: string
}

declare module '../engine/step.js' {
  interface StepOutputs {
    probe: ProbeOutput
  }
}

export const probeName = (stack: string) => `${stack}-probe`
export const probeRoleName = (stack: string) => `${stack}-probe-role`

/** The one call the probe makes to AWS: a read that needs no table and no data. */
const PROBE_POLICY_NAME = 'cct-probe-dynamodb-read'
const PROBE_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{Effect: 'Allow', Action: 'dynamodb:ListTables', Resource: '*'}],
})
const LAMBDA_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}],
})

/** What the probe runs as: small, and long enough for every stage to time out in turn. */
export const PROBE_RUNTIME = 'nodejs22.x' as const
const PROBE_HANDLER = 'index.handler'
const PROBE_MEMORY_MB = 256
const PROBE_TIMEOUT_S = 30

export interface ProbeBundle {
  zip: Buffer
  /** Base64 SHA-256, as Lambda reports CodeSha256. */
  codeSha256: string
}

export async function loadProbeBundle(dir = join(BUNDLE_DIR, '..', 'probe')): Promise<ProbeBundle> {
  const file = join(dir, 'cct-probe.zip')
  let zip: Buffer
  try {
    zip = await readFile(file)
  } catch {
    throw new CctError(`The probe bundle ${file} is missing`, {
      hint: 'Reinstall cct, or run `npm run build` in its checkout',
    })
  }
  return {zip, codeSha256: createHash('sha256').update(zip).digest('base64')}
}

interface Desired {
  subnetIds: string[]
  securityGroupIds: string[]
  layers: string[]
}

export interface ProbeState {
  bundle: ProbeBundle
  desired: Desired
  fn?: FunctionConfiguration
  role?: {arn: string; policies: string[]; inline: string[]}
  partition: string
}

/**
 * verify's probe function: in the stack's subnets with the lambda group and the cct layer,
 * like the functions, with its own role that may only create its network interfaces, log,
 * and list DynamoDB tables.
 */
/** What the probe step does to its function and role. */
export type ProbeOp =
  /** Create the role if missing, and give it the policies it lacks. */
  | {kind: 'ensure-role'}
  | {kind: 'create-function'}
  | {kind: 'update-code'; sha256: string}
  | {kind: 'update-config'; drift: string[]}
  | {kind: 'delete-function'}
  | {kind: 'delete-role'}

export const probeStep: Step<'probe', ProbeState, ProbeOp> = {
  id: 'probe',
  title: 'Probe function (for cct verify)',
  needs: ['vpc', 'sg', 'layer'],
  command: 'cct setup',

  async inspect(ctx) {
    const {subnetIds} = ctx.need('vpc')
    const {lambdaGroupId} = ctx.need('sg')
    const {layerVersionArn} = ctx.need('layer')
    const [bundle, fn, role] = await Promise.all([
      loadProbeBundle(),
      readFunction(await ctx.aws.lambda(), ctx.stack),
      readRole(await ctx.aws.iam(), ctx.stack),
    ])
    return {
      bundle,
      fn,
      role,
      partition: partitionOf(
        fn?.FunctionArn ?? role?.arn ?? (hasPending(layerVersionArn) ? 'arn:aws' : layerVersionArn),
      ),
      desired: {subnetIds, securityGroupIds: [lambdaGroupId], layers: [layerVersionArn]},
    }
  },

  plan(state, ctx) {
    const name = probeName(ctx.stack)
    const changes: Change<ProbeOp>[] = []
    if (!state.role)
      changes.push({
        action: 'create',
        resource: 'iam role',
        name: probeRoleName(ctx.stack),
        detail: 'VPC access, logs, dynamodb:ListTables',
        op: {kind: 'ensure-role'},
      })
    else if (
      !state.role.policies.includes(vpcAccessPolicyArn(state.partition)) ||
      !state.role.inline.includes(PROBE_POLICY_NAME)
    ) {
      changes.push({
        action: 'update',
        resource: 'iam role',
        name: probeRoleName(ctx.stack),
        detail: 'policies missing',
        op: {kind: 'ensure-role'},
      })
    }
    if (!state.fn) {
      const detail = hasPending(state.desired)
        ? 'once the subnets, groups and layer exist'
        : `${PROBE_RUNTIME} in ${state.desired.subnetIds.length} subnets`
      changes.push({action: 'create', resource: 'lambda function', name, detail, op: {kind: 'create-function'}})
      return changes
    }
    if (state.fn.CodeSha256 !== state.bundle.codeSha256)
      changes.push({
        action: 'update',
        resource: 'lambda function',
        name,
        detail: 'probe code',
        op: {kind: 'update-code', sha256: state.bundle.codeSha256},
      })
    const drift = configDrift(state.fn, state.desired)
    if (drift.length)
      changes.push({
        action: 'update',
        resource: 'lambda function',
        name,
        detail: `${drift.join(', ')} differ`,
        op: {kind: 'update-config', drift},
      })
    return changes
  },

  resources(state, ctx) {
    return [
      ...(state.role ? [{resource: 'iam role', name: probeRoleName(ctx.stack)}] : []),
      ...(state.fn ? [{resource: 'lambda function', name: probeName(ctx.stack)}] : []),
    ]
  },

  output(_state, ctx) {
    return {functionName: probeName(ctx.stack)}
  },

  async apply(state, plan, ctx) {
    const iam = await ctx.aws.iam()
    const lambda = await ctx.aws.lambda()
    const name = probeName(ctx.stack)
    let role = state.role
    for (const op of operations(plan)) {
      switch (op.kind) {
        case 'ensure-role':
          role = await ensureRole(iam, ctx, state)
          break
        case 'create-function':
          await createFunction(lambda, ctx, state, role!.arn)
          break
        case 'update-code': {
          await waitIdle(lambda, ctx, name, 'before')
          await lambda.send(new UpdateFunctionCodeCommand({FunctionName: name, ZipFile: state.bundle.zip}))
          break
        }
        case 'update-config': {
          await waitIdle(lambda, ctx, name, 'before')
          await lambda.send(
            new UpdateFunctionConfigurationCommand({FunctionName: name, ...functionConfig(state.desired)}),
          )
          break
        }
        case 'delete-function':
        case 'delete-role':
          throw new Error(`probe apply was given ${op.kind}, which only destroy performs`)
        default:
          unknownOperation(op)
      }
    }
    // After cct's own create or update: a Failed one is cct's failure.
    if (plan.length) await waitIdle(lambda, ctx, name, 'after')
    return {functionName: name}
  },

  destroyPlan(state, ctx) {
    const changes: Change<ProbeOp>[] = []
    if (state.fn)
      changes.push({
        action: 'delete',
        resource: 'lambda function',
        name: probeName(ctx.stack),
        op: {kind: 'delete-function'},
      })
    if (state.role)
      changes.push({action: 'delete', resource: 'iam role', name: probeRoleName(ctx.stack), op: {kind: 'delete-role'}})
    return changes
  },

  async destroy(state, plan, ctx) {
    for (const op of operations(plan)) {
      if (op.kind === 'delete-function') {
        await ignoreMissing(
          (await ctx.aws.lambda()).send(new DeleteFunctionCommand({FunctionName: probeName(ctx.stack)})),
        )
      } else if (op.kind === 'delete-role') {
        await deleteRole(await ctx.aws.iam(), probeRoleName(ctx.stack), state.role!)
      } else {
        throw new Error(`probe destroy was given ${op.kind}, which only apply performs`)
      }
    }
  },
}

function functionConfig(desired: Desired) {
  return {
    Runtime: PROBE_RUNTIME,
    Handler: PROBE_HANDLER,
    MemorySize: PROBE_MEMORY_MB,
    Timeout: PROBE_TIMEOUT_S,
    VpcConfig: {SubnetIds: desired.subnetIds, SecurityGroupIds: desired.securityGroupIds},
    Layers: desired.layers,
  }
}

function configDrift(fn: FunctionConfiguration, desired: Desired): string[] {
  const drift: string[] = []
  const same = (a: readonly string[] = [], b: readonly string[]) =>
    a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i])
  if (!same(fn.VpcConfig?.SubnetIds, desired.subnetIds)) drift.push('subnets')
  if (!same(fn.VpcConfig?.SecurityGroupIds, desired.securityGroupIds)) drift.push('security groups')
  if (
    !same(
      (fn.Layers ?? []).map((l) => l.Arn!),
      desired.layers,
    )
  )
    drift.push('cache layer')
  if (
    fn.Runtime !== PROBE_RUNTIME ||
    fn.Handler !== PROBE_HANDLER ||
    fn.Timeout !== PROBE_TIMEOUT_S ||
    fn.MemorySize !== PROBE_MEMORY_MB
  )
    drift.push('runtime settings')
  return drift
}

async function readFunction(lambda: LambdaClient, stack: string): Promise<FunctionConfiguration | undefined> {
  try {
    const {Configuration, Tags = {}} = await lambda.send(new GetFunctionCommand({FunctionName: probeName(stack)}))
    if (
      !hasStackTags(
        Object.entries(Tags).map(([Key, Value]) => ({Key, Value})),
        stack,
      )
    ) {
      throw conflictError(
        `Lambda function ${probeName(stack)} exists but was not made by cct for stack "${stack}"`,
        'Rename it, or choose another --stack',
      )
    }
    return Configuration
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) return undefined
    throw error
  }
}

async function readRole(iam: IAMClient, stack: string): Promise<ProbeState['role']> {
  const name = probeRoleName(stack)
  let role
  try {
    role = (await iam.send(new GetRoleCommand({RoleName: name}))).Role!
  } catch (error) {
    if (isAwsError(error, 'NoSuchEntityException')) return undefined
    throw error
  }
  if (!hasStackTags(role.Tags, stack)) {
    throw conflictError(
      `IAM role ${name} exists but was not made by cct for stack "${stack}"`,
      'Delete or rename it, or choose another --stack',
    )
  }
  const [{AttachedPolicies = []}, {PolicyNames = []}] = await Promise.all([
    iam.send(new ListAttachedRolePoliciesCommand({RoleName: name})),
    iam.send(new ListRolePoliciesCommand({RoleName: name})),
  ])
  return {arn: role.Arn!, policies: AttachedPolicies.map((p) => p.PolicyArn!), inline: PolicyNames}
}

async function ensureRole(
  iam: IAMClient,
  ctx: StepContext,
  state: ProbeState,
): Promise<NonNullable<ProbeState['role']>> {
  const name = probeRoleName(ctx.stack)
  let role = state.role
  // The SDK's retry of a CreateRole whose reply was lost is refused as existing: the role by
  // that name carrying the stack's tags is this create's (readRole refuses one that is not).
  role ??= await createNamed(
    async () => {
      const created = await iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: LAMBDA_TRUST,
          Description: `cct verify's probe for stack ${ctx.stack}`,
          Tags: stackTags(ctx.stack, name),
        }),
      )
      return {arn: created.Role!.Arn!, policies: [], inline: []}
    },
    ['EntityAlreadyExistsException', 'EntityAlreadyExists'],
    () => readRole(iam, ctx.stack),
  )
  const vpcPolicy = vpcAccessPolicyArn(state.partition)
  if (!role.policies.includes(vpcPolicy))
    await iam.send(new AttachRolePolicyCommand({RoleName: name, PolicyArn: vpcPolicy}))
  if (!role.inline.includes(PROBE_POLICY_NAME))
    await iam.send(
      new PutRolePolicyCommand({RoleName: name, PolicyName: PROBE_POLICY_NAME, PolicyDocument: PROBE_POLICY}),
    )
  return {
    arn: role.arn,
    policies: [...new Set([...role.policies, vpcPolicy])],
    inline: [...new Set([...role.inline, PROBE_POLICY_NAME])],
  }
}

async function createFunction(
  lambda: LambdaClient,
  ctx: StepContext,
  state: ProbeState,
  roleArn: string,
): Promise<void> {
  const name = probeName(ctx.stack)
  // A role made seconds ago may not be assumable by Lambda yet (IAM is eventually consistent).
  for (let attempt = 1; ; attempt++) {
    try {
      // Refused as existing after a lost reply: the function by that name with the stack's tags is this create's.
      await createNamed(
        () =>
          lambda.send(
            new CreateFunctionCommand({
              FunctionName: name,
              Role: roleArn,
              Code: {ZipFile: state.bundle.zip},
              Description: `cct verify's in-VPC probe for stack ${ctx.stack}`,
              Tags: Object.fromEntries(tagMap(stackTags(ctx.stack, name))),
              ...functionConfig(state.desired),
            }),
          ),
        ['ResourceConflictException'],
        () => readFunction(lambda, ctx.stack),
      )
      return
    } catch (error) {
      const retryable =
        isAwsError(error, 'InvalidParameterValueException') && /role|assume/i.test((error as Error).message)
      if (!retryable || attempt >= 10) throw error
      ctx.progress(`${name}: waiting for its new role to propagate`)
      await new Promise((r) => setTimeout(r, ctx.options.pollIntervalMs))
    }
  }
}

/** A new function in a VPC is Pending while Lambda makes its network interfaces; an update is InProgress. */
async function waitIdle(lambda: LambdaClient, ctx: StepContext, name: string, when: 'before' | 'after'): Promise<void> {
  await waitForFunction(lambda, name, ctx, 'cct setup', when)
}

async function deleteRole(iam: IAMClient, name: string, role: NonNullable<ProbeState['role']>): Promise<void> {
  for (const arn of role.policies)
    await ignoreMissing(iam.send(new DetachRolePolicyCommand({RoleName: name, PolicyArn: arn})))
  for (const policy of role.inline)
    await ignoreMissing(iam.send(new DeleteRolePolicyCommand({RoleName: name, PolicyName: policy})))
  await ignoreMissing(iam.send(new DeleteRoleCommand({RoleName: name})))
}

async function ignoreMissing(call: Promise<unknown>): Promise<void> {
  try {
    await call
  } catch (error) {
    if (!isAwsError(error, 'ResourceNotFoundException', 'NoSuchEntityException')) throw error
  }
}
