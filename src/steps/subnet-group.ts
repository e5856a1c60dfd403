import {
  CreateCacheSubnetGroupCommand,
  DeleteCacheSubnetGroupCommand,
  DescribeCacheSubnetGroupsCommand,
  DescribeCacheClustersCommand,
  ListTagsForResourceCommand,
  ModifyCacheSubnetGroupCommand,
  type CacheSubnetGroup,
  type ElastiCacheClient,
} from '@aws-sdk/client-elasticache'

import {createNamed} from '../aws/create-once.js'
import {deleteWhenFree} from '../aws/in-use.js'
import {hasPending, operations, pending, unknownOperation, type Step} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {hasStackTags, stackTags} from '../tags.js'
import {isAwsError} from '../aws/errors.js'

export interface SubnetGroupOutput {
  /** Absent when the stack's cache is serverless: it takes subnets directly and needs no group. */
  name?: string
}

declare module '../engine/step.js' {
  interface StepOutputs {
    'subnet-group': SubnetGroupOutput
  }
}

export interface SubnetGroupState {
  subnetIds: string[]
  group?: {name: string; subnetIds: string[]}
}

export const subnetGroupName = (stack: string) => `${stack}-cache-subnet-group`

export type SubnetGroupOp =
  | {kind: 'create-subnet-group'; name: string; subnetIds: string[]}
  | {kind: 'set-subnets'; name: string; subnetIds: string[]}
  | {kind: 'delete-subnet-group'; name: string}

export const subnetGroupStep: Step<'subnet-group', SubnetGroupState, SubnetGroupOp> = {
  id: 'subnet-group',
  title: 'Cache subnet group',
  needs: ['vpc'],
  command: 'cct subnet-group',

  async inspect(ctx) {
    const {subnetIds} = ctx.need('vpc')
    const elasticache = await ctx.aws.elasticache()
    const found = await findSubnetGroup(elasticache, subnetGroupName(ctx.stack))
    if (!found) return {subnetIds}
    if (!(await isStacks(elasticache, found, ctx.stack))) {
      throw conflictError(
        `Cache subnet group ${found.CacheSubnetGroupName} exists but was not created by cct`,
        'Delete or rename it, or choose another --stack',
      )
    }
    return {
      subnetIds,
      group: {
        name: found.CacheSubnetGroupName!,
        subnetIds: (found.Subnets ?? []).map((s) => s.SubnetIdentifier!).sort(),
      },
    }
  },

  plan(state, ctx) {
    const name = subnetGroupName(ctx.stack)
    const subnetIds = state.subnetIds
    // A serverless cache is given the subnets itself; a group left from an earlier cache stays until rollback.
    if (ctx.options.serverless) return []
    if (!state.group)
      return [
        {
          action: 'create',
          resource: 'cache-subnet-group',
          name,
          detail: subnetIds.map(show).join(', '),
          op: {kind: 'create-subnet-group', name, subnetIds},
        },
      ]
    if (!sameSet(state.group.subnetIds, subnetIds)) {
      return [
        {
          action: 'update',
          resource: 'cache-subnet-group',
          name,
          detail: `subnets differ: has ${state.group.subnetIds.join(', ')}, needs ${subnetIds.map(show).join(', ')}`,
          op: {kind: 'set-subnets', name, subnetIds},
        },
      ]
    }
    return []
  },

  resources(state) {
    return state.group ? [{resource: 'cache-subnet-group', name: state.group.name}] : []
  },

  output(state, ctx) {
    if (ctx.options.serverless && !state.group) return {}
    return {name: state.group?.name ?? pending(subnetGroupName(ctx.stack))}
  },

  async apply(_state, plan, ctx) {
    const elasticache = await ctx.aws.elasticache()
    for (const op of operations(plan)) {
      switch (op.kind) {
        case 'create-subnet-group':
          if (hasPending(op.subnetIds)) throw new Error('subnet-group apply ran before its subnets exist')
          await createNamed(
            () =>
              elasticache
                .send(
                  new CreateCacheSubnetGroupCommand({
                    CacheSubnetGroupName: op.name,
                    CacheSubnetGroupDescription: `cct: cache subnets of stack ${ctx.stack}`,
                    SubnetIds: op.subnetIds,
                    Tags: stackTags(ctx.stack, op.name),
                  }),
                )
                .then((r) => r.CacheSubnetGroup),
            ['CacheSubnetGroupAlreadyExistsFault', 'CacheSubnetGroupAlreadyExists'],
            async () => {
              const found = await findSubnetGroup(elasticache, op.name)
              return found && (await isStacks(elasticache, found, ctx.stack)) ? found : undefined
            },
          )
          break
        case 'set-subnets':
          if (hasPending(op.subnetIds)) throw new Error('subnet-group apply ran before its subnets exist')
          await elasticache.send(
            new ModifyCacheSubnetGroupCommand({CacheSubnetGroupName: op.name, SubnetIds: op.subnetIds}),
          )
          break
        case 'delete-subnet-group':
          throw new Error('subnet-group apply was given delete-subnet-group, which only destroy performs')
        default:
          unknownOperation(op)
      }
    }
    return {name: subnetGroupName(ctx.stack)}
  },

  destroyPlan(state) {
    return state.group
      ? [
          {
            action: 'delete',
            resource: 'cache-subnet-group',
            name: state.group.name,
            op: {kind: 'delete-subnet-group', name: state.group.name},
          },
        ]
      : []
  },

  async destroy(_state, plan, ctx) {
    const elasticache = await ctx.aws.elasticache()
    for (const op of operations(plan)) {
      if (op.kind !== 'delete-subnet-group')
        throw new Error(`subnet-group destroy was given ${op.kind}, which only apply performs`)
      await deleteWhenFree(ctx, {
        what: `cache subnet group ${op.name}`,
        remove: () => elasticache.send(new DeleteCacheSubnetGroupCommand({CacheSubnetGroupName: op.name})),
        busyError: 'CacheSubnetGroupInUse',
        status: () => usersOf(elasticache, op.name),
        resume: 'cct rollback',
      })
    }
  },
}

const show = (id: string) => id.replace(/^pending:/, 'new ')

/** Which cache clusters still hold the group, for the progress line. */
async function usersOf(elasticache: ElastiCacheClient, name: string): Promise<string> {
  const {CacheClusters = []} = await elasticache.send(new DescribeCacheClustersCommand({}))
  const users = CacheClusters.filter((c) => c.CacheSubnetGroupName === name).map(
    (c) => `${c.CacheClusterId} (${c.CacheClusterStatus})`,
  )
  return users.length ? `in use by ${users.join(', ')}` : 'in use'
}

async function findSubnetGroup(elasticache: ElastiCacheClient, name: string): Promise<CacheSubnetGroup | undefined> {
  try {
    const {CacheSubnetGroups = []} = await elasticache.send(
      new DescribeCacheSubnetGroupsCommand({CacheSubnetGroupName: name}),
    )
    return CacheSubnetGroups[0]
  } catch (error) {
    if (isAwsError(error, 'CacheSubnetGroupNotFoundFault')) return undefined
    throw error
  }
}

async function isStacks(elasticache: ElastiCacheClient, group: CacheSubnetGroup, stack: string): Promise<boolean> {
  const {TagList = []} = await elasticache.send(new ListTagsForResourceCommand({ResourceName: group.ARN!}))
  return hasStackTags(TagList, stack)
}

function sameSet(a: string[], b: string[]): boolean {
  const sortedB = [...b].sort()
  return a.length === b.length && [...a].sort().every((x, i) => x === sortedB[i])
}
