import {
  AttachRolePolicyCommand,
  DetachRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRoleTagsCommand,
  ListRolesCommand,
  TagRoleCommand,
  UntagRoleCommand,
  type IAMClient,
} from '@aws-sdk/client-iam'

import {isAwsError} from './errors.js'

export const VPC_ACCESS_POLICY_NAME = 'AWSLambdaVPCAccessExecutionRole'

export function vpcAccessPolicyArn(partition = 'aws'): string {
  return `arn:${partition}:iam::aws:policy/service-role/${VPC_ACCESS_POLICY_NAME}`
}

export interface RoleInfo {
  name: string
  arn: string
  /** The role may already create network interfaces (managed or inline policy). */
  canCreateEni: boolean
  tags: Record<string, string>
}

export function roleNameFromArn(arn: string): string {
  return arn.split('/').pop()!
}

/**
 * What Lambda needs of a function's role to manage its network interfaces in a VPC
 * (Lambda developer guide, "Giving Lambda functions access to resources in an Amazon
 * VPC", execution role permissions; all five are in AWSLambdaVPCAccessExecutionRole).
 */
export const VPC_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const

/**
 * Whether a role's policies allow all five actions Lambda needs to put a function in a
 * VPC: the AWS managed VPC/ENI policies, or attached and inline policies whose Allow
 * statements together name each action (or a wildcard that covers it). A role with only
 * ec2:CreateNetworkInterface gets the managed policy too.
 */
export async function inspectRole(iam: IAMClient, arn: string): Promise<RoleInfo> {
  const name = roleNameFromArn(arn)
  const {Tags = []} = await iam.send(new ListRoleTagsCommand({RoleName: name}))
  const tags = Object.fromEntries(Tags.map((t) => [t.Key!, t.Value ?? '']))
  const {AttachedPolicies = []} = await iam.send(new ListAttachedRolePoliciesCommand({RoleName: name}))
  const info: RoleInfo = {name, arn, canCreateEni: false, tags}
  if (
    AttachedPolicies.some((p) => /AWSLambdaVPCAccessExecutionRole|AWSLambdaENIManagementAccess/.test(p.PolicyArn ?? ''))
  ) {
    info.canCreateEni = true
    return info
  }
  const documents: string[] = []
  for (const p of AttachedPolicies) {
    const {Policy} = await iam.send(new GetPolicyCommand({PolicyArn: p.PolicyArn!}))
    const {PolicyVersion} = await iam.send(
      new GetPolicyVersionCommand({PolicyArn: p.PolicyArn!, VersionId: Policy!.DefaultVersionId!}),
    )
    if (PolicyVersion?.Document) documents.push(PolicyVersion.Document)
  }
  const {PolicyNames = []} = await iam.send(new ListRolePoliciesCommand({RoleName: name}))
  for (const policyName of PolicyNames) {
    const {PolicyDocument} = await iam.send(new GetRolePolicyCommand({RoleName: name, PolicyName: policyName}))
    if (PolicyDocument) documents.push(PolicyDocument)
  }
  info.canCreateEni = missingVpcActions(documents).length === 0
  return info
}

/** The VPC actions no Allow statement of these policy documents grants (Deny and conditions are not weighed). */
export function missingVpcActions(documents: string[]): string[] {
  const allowed = documents.flatMap(allowedActions)
  return VPC_ACTIONS.filter((action) => !allowed.some((pattern) => globMatches(pattern, action)))
}

function allowedActions(document: string): string[] {
  let parsed: {Statement?: unknown}
  try {
    parsed = JSON.parse(decodeURIComponent(document)) as {Statement?: unknown}
  } catch {
    return []
  }
  const statements = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement]
  return statements.flatMap((s: {Effect?: string; Action?: string | string[]} | undefined) => {
    if (!s || s.Effect !== 'Allow') return []
    return Array.isArray(s.Action) ? s.Action : [s.Action ?? '']
  })
}

/** IAM action matching: case-insensitive, `*` any run of characters, `?` one. */
function globMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  )
  return re.test(action)
}

/**
 * The role is not cct's, so the record comes first: tagged before the policy is attached,
 * a crash or a lost reply between the two leaves a record of a change that may have been
 * made, and rollback's detach (NoSuchEntity is fine) makes it exact. Attached first, a
 * crash in between would leave the policy on the user's role with nothing saying cct put it
 * there. The record names the policy; it is kept until rollback has detached it.
 */
export async function attachVpcPolicy(
  iam: IAMClient,
  role: RoleInfo,
  recordTag: string,
  partition: string,
): Promise<void> {
  if (role.tags[recordTag] === undefined)
    await iam.send(new TagRoleCommand({RoleName: role.name, Tags: [{Key: recordTag, Value: VPC_ACCESS_POLICY_NAME}]}))
  await iam.send(new AttachRolePolicyCommand({RoleName: role.name, PolicyArn: vpcAccessPolicyArn(partition)}))
}

/**
 * The ARNs of the roles that carry cct's record, found by the record itself: a rollback
 * killed after the functions' records were cleared (or a setup killed before any function
 * had one) leaves no function leading to the role. Only roles Lambda may assume are read
 * (ListRoles gives no tags, ListRoleTags is one call per role).
 */
export async function recordedRoleArns(iam: IAMClient, recordTag: string, concurrency = 8): Promise<string[]> {
  const candidates: {name: string; arn: string}[] = []
  let Marker: string | undefined
  do {
    const page = await iam.send(new ListRolesCommand({Marker}))
    for (const r of page.Roles ?? []) {
      const trust = safeDecode(r.AssumeRolePolicyDocument ?? '')
      if (r.RoleName && r.Arn && trust.includes('lambda.amazonaws.com')) candidates.push({name: r.RoleName, arn: r.Arn})
    }
    Marker = page.IsTruncated ? page.Marker : undefined
  } while (Marker)
  const found: string[] = []
  let next = 0
  const worker = async () => {
    while (next < candidates.length) {
      const role = candidates[next++]!
      try {
        const {Tags = []} = await iam.send(new ListRoleTagsCommand({RoleName: role.name}))
        if (Tags.some((t) => t.Key === recordTag)) found.push(role.arn)
      } catch (error) {
        // Deleted since the listing: nothing of cct's on it any more.
        if (!isAwsError(error, 'NoSuchEntityException')) throw error
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(concurrency, candidates.length)}, worker))
  return found.sort()
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** Detached first, the record cleared only after: a crash between the two leaves a record the next rollback finds. */
export async function detachVpcPolicy(
  iam: IAMClient,
  roleName: string,
  recordTag: string,
  partition: string,
): Promise<void> {
  try {
    await iam.send(new DetachRolePolicyCommand({RoleName: roleName, PolicyArn: vpcAccessPolicyArn(partition)}))
  } catch (error) {
    if (!isAwsError(error, 'NoSuchEntityException')) throw error
  }
  await iam.send(new UntagRoleCommand({RoleName: roleName, TagKeys: [recordTag]}))
}

export function partitionOf(arn: string): string {
  return arn.split(':')[1] ?? 'aws'
}
