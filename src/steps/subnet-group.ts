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

import {deleteWhenFree} from '../aws/in-use.js'
import {hasPending, pending, type Step} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {hasStackTags, stackTags} from '../tags.js'
import {isAwsError} from '../aws/errors.js'

export interface SubnetGroupOutput {
  name: string
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

export const subnetGroupStep: Step<'subnet-group', SubnetGroupState> = {
  id: 'subnet-group',
  title: 'Cache subnet group',
  needs: ['vpc'],
  command: 'cct subnet-group',

  async inspect(ctx) {
    const {subnetIds} = ctx.need('vpc')
    const elasticache = await ctx.aws.elasticache()
    const found = await findSubnetGroup(elasticache, subnetGroupName(ctx.stack))
    if (!found) return {subnetIds}
    const {TagList = []} = await elasticache.send(new ListTagsForResourceCommand({ResourceName: found.ARN!}))
    if (!hasStackTags(TagList, ctx.stack)) {
      throw conflictError(`Cache subnet group ${found.CacheSubnetGroupName} exists but was not created by cct`, 'Delete or rename it, or choose another --stack')
    }
    return {subnetIds, group: {name: found.CacheSubnetGroupName!, subnetIds: (found.Subnets ?? []).map((s) => s.SubnetIdentifier!).sort()}}
  },

  plan(state, ctx) {
    const name = subnetGroupName(ctx.stack)
    if (!state.group) return [{action: 'create', resource: 'cache-subnet-group', name, detail: state.subnetIds.join(', ')}]
    if (!sameSet(state.group.subnetIds, state.subnetIds)) {
      return [{action: 'update', resource: 'cache-subnet-group', name, detail: `subnets ${state.group.subnetIds.join(', ')} -> ${state.subnetIds.join(', ')}`}]
    }
    return []
  },

  output(state, ctx) {
    return {name: state.group?.name ?? pending(subnetGroupName(ctx.stack))}
  },

  async apply(state, _plan, ctx) {
    const elasticache = await ctx.aws.elasticache()
    const name = subnetGroupName(ctx.stack)
    if (hasPending(state.subnetIds)) throw new Error('subnet-group apply ran before its subnets exist')
    if (!state.group) {
      await elasticache.send(
        new CreateCacheSubnetGroupCommand({
          CacheSubnetGroupName: name,
          CacheSubnetGroupDescription: `cct: cache subnets of stack ${ctx.stack}`,
          SubnetIds: state.subnetIds,
          Tags: stackTags(ctx.stack, name),
        }),
      )
    } else {
      await elasticache.send(new ModifyCacheSubnetGroupCommand({CacheSubnetGroupName: name, SubnetIds: state.subnetIds}))
    }
    return {name}
  },

  destroyPlan(state) {
    return state.group ? [{action: 'delete', resource: 'cache-subnet-group', name: state.group.name}] : []
  },

  async destroy(state, _plan, ctx) {
    const elasticache = await ctx.aws.elasticache()
    const name = state.group!.name
    await deleteWhenFree(ctx, {
      what: `cache subnet group ${name}`,
      remove: () => elasticache.send(new DeleteCacheSubnetGroupCommand({CacheSubnetGroupName: name})),
      busyError: 'CacheSubnetGroupInUse',
      status: () => usersOf(elasticache, name),
      resume: 'cct rollback',
    })
  },
}

/** Which cache clusters still hold the group, for the progress line. */
async function usersOf(elasticache: ElastiCacheClient, name: string): Promise<string> {
  const {CacheClusters = []} = await elasticache.send(new DescribeCacheClustersCommand({}))
  const users = CacheClusters.filter((c) => c.CacheSubnetGroupName === name).map((c) => `${c.CacheClusterId} (${c.CacheClusterStatus})`)
  return users.length ? `in use by ${users.join(', ')}` : 'in use'
}

async function findSubnetGroup(elasticache: ElastiCacheClient, name: string): Promise<CacheSubnetGroup | undefined> {
  try {
    const {CacheSubnetGroups = []} = await elasticache.send(new DescribeCacheSubnetGroupsCommand({CacheSubnetGroupName: name}))
    return CacheSubnetGroups[0]
  } catch (error) {
    if (isAwsError(error, 'CacheSubnetGroupNotFoundFault')) return undefined
    throw error
  }
}

function sameSet(a: string[], b: string[]): boolean {
  const sortedB = [...b].sort()
  return a.length === b.length && [...a].sort().every((x, i) => x === sortedB[i])
}
