import {randomUUID} from 'node:crypto'

import {
  AssociateRouteTableCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  CreateVpcEndpointCommand,
  DeleteRouteTableCommand,
  DeleteVpcCommand,
  DeleteVpcEndpointsCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  DisassociateRouteTableCommand,
  ModifyVpcEndpointCommand,
  type EC2Client,
  type RouteTable,
  type Subnet,
} from '@aws-sdk/client-ec2'

import {deleteSubnetWhenFree} from '../aws/in-use.js'
import {
  isUndoing,
  operations,
  pending,
  resolvePending,
  unknownOperation,
  type Change,
  type Step,
  type StepContext,
} from '../engine/step.js'
import {CctError, ExitCode, conflictError, usageError} from '../errors.js'
import {formatCidr, freeBlocks, parseCidr, validateVpcCidr} from '../net/cidr.js'
import {hasStackTags, isPublicSide, nameFilters, stackFilters, stackTags} from '../tags.js'
import {isAwsError} from '../aws/errors.js'
import {createOnce} from '../aws/create-once.js'

export interface VpcOutput {
  vpcId: string
  /** The VPC's CIDR (where a public subnet for a NAT gateway can go). */
  cidr: string
  /** cct's private route table; absent when the user's subnets (and route tables) are used. */
  privateRouteTableId?: string
  /** The two subnets the cache and the functions use, in two AZs. */
  subnetIds: string[]
  /** Their CIDR blocks, those the plan creates included: where no other subnet can go. */
  subnetCidrs: string[]
  /** The AZs (names) of those subnets that offer the node type, in subnet order: where the cache nodes go. */
  zones: string[]
  /** Route tables of those subnets (where the gateway endpoints are). */
  routeTableIds: string[]
}

declare module '../engine/step.js' {
  interface StepOutputs {
    vpc: VpcOutput
  }
}

/** Gateway endpoints keep functions in the VPC reaching DynamoDB (and S3) with no NAT. */
const ENDPOINT_SERVICES = ['dynamodb', 's3'] as const
type EndpointService = (typeof ENDPOINT_SERVICES)[number]

interface SubnetInfo {
  id: string
  az: string
  cidr: string
  managed: boolean
}

interface EndpointInfo {
  id: string
  routeTableIds: string[]
  managed: boolean
}

export interface VpcState {
  /** AZ names in the order cct picks them: by zone id, those offering the node type. */
  azs: string[]
  vpc?: {id: string; cidr: string; managed: boolean}
  /** The subnets the stack uses now (the user's with --subnet-ids, else cct's). */
  subnets: SubnetInfo[]
  /** Subnets to create: AZ and CIDR. */
  missingSubnets: {az: string; cidr: string}[]
  /** Whether the subnets are the user's (their route tables are theirs too). */
  userSubnets: boolean
  /** cct's route table, when cct's subnets are used. */
  routeTable?: {id: string; associations: Map<string, string>}
  /** Route tables of the user's subnets. */
  userRouteTableIds: string[]
  endpoints: Record<EndpointService, EndpointInfo[]>
}

/** What the vpc step does; ids a run creates are pending ids (pending(name)). */
export type VpcOp =
  | {kind: 'create-vpc'; id: string; cidr: string}
  | {kind: 'create-subnet'; id: string; vpcId: string; az: string; cidr: string}
  | {kind: 'create-route-table'; id: string; vpcId: string}
  | {kind: 'associate-route-table'; routeTableId: string; subnetId: string}
  | {kind: 'create-endpoint'; service: EndpointService; vpcId: string; routeTableIds: string[]}
  | {kind: 'add-endpoint-route-tables'; service: EndpointService; endpointId: string; routeTableIds: string[]}
  | {kind: 'delete-endpoint'; service: EndpointService; endpointId: string}
  | {kind: 'delete-route-table'; routeTableId: string; associationIds: string[]}
  | {kind: 'delete-subnet'; subnetId: string}
  | {kind: 'delete-vpc'; vpcId: string}

const name = (ctx: StepContext, thing: string) => `${ctx.stack}-${thing}`
const show = (id: string) => id.replace(/^pending:/, '')

export const vpcStep: Step<'vpc', VpcState, VpcOp> = {
  id: 'vpc',
  title: 'Network (VPC, subnets, DynamoDB/S3 endpoints)',
  needs: [],
  command: 'cct vpc',

  async inspect(ctx) {
    const ec2 = await ctx.aws.ec2()
    const {options} = ctx
    const newCidr = options.vpcId || options.subnetIds ? undefined : validateVpcCidr(options.cidr, options.subnetPrefix)
    const findVpc = async () => {
      const userSubnets = options.subnetIds?.length
        ? await describeUserSubnets(ec2, options.subnetIds, options.vpcId)
        : undefined
      const vpcId = options.vpcId ?? userSubnets?.[0]?.VpcId
      const vpc = vpcId ? await describeVpc(ec2, vpcId, ctx.region) : await findStackVpc(ec2, ctx.stack)
      return {userSubnets, vpc}
    }
    // Neither depends on the other; every step of the stack waits for this inspect.
    const [azs, {userSubnets, vpc}] = await Promise.all([availabilityZones(ec2, ctx), findVpc()])
    const state: VpcState = {
      azs,
      vpc: vpc && {id: vpc.VpcId!, cidr: vpc.CidrBlock!, managed: hasStackTags(vpc.Tags, ctx.stack)},
      subnets: [],
      missingSubnets: [],
      userSubnets: userSubnets !== undefined,
      userRouteTableIds: [],
      endpoints: {dynamodb: [], s3: []},
    }

    if (userSubnets) {
      state.subnets = userSubnets.map((s) => toSubnetInfo(s, ctx.stack))
      const zones = new Set(state.subnets.map((s) => s.az))
      if (zones.size < 2) {
        throw usageError(
          `Subnets ${options.subnetIds!.join(', ')} are all in ${[...zones].join(', ')}`,
          'Pass subnets in at least two availability zones',
        )
      }
      // The cache's nodes go only where the node type is offered; one such zone will do.
      if (!isUndoing(ctx) && ![...zones].some((z) => azs.includes(z))) {
        throw usageError(
          `${options.nodeType} is not offered in ${[...zones].join(', ')}, the zones of subnets ${options.subnetIds!.join(', ')}`,
          `Pass subnets in a zone that offers it (${azs.slice(0, 4).join(', ')}), or another --node-type`,
        )
      }
    } else {
      const existing = state.vpc ? await describeSubnets(ec2, [{Name: 'vpc-id', Values: [state.vpc.id]}]) : []
      const ours = existing
        .filter((s) => hasStackTags(s.Tags, ctx.stack) && !isPublicSide(s.Tags))
        .map((s) => toSubnetInfo(s, ctx.stack))
      const chosen: SubnetInfo[] = []
      // In cct's zone order (as they were created), so the output is the same on every run.
      const rank = (az: string) => (azs.includes(az) ? azs.indexOf(az) : azs.length)
      for (const s of ours.sort((a, b) => rank(a.az) - rank(b.az) || a.az.localeCompare(b.az)))
        if (!chosen.some((c) => c.az === s.az)) chosen.push(s)
      state.subnets = chosen.slice(0, 2)
      const freeAzs = azs.filter((az) => !state.subnets.some((s) => s.az === az))
      const needed = 2 - state.subnets.length
      if (needed > 0) {
        const within = state.vpc ? parseCidr(state.vpc.cidr) : newCidr!
        const taken = existing.map((s) => parseCidr(s.CidrBlock!))
        const blocks = freeBlocks(within, options.subnetPrefix, taken, needed)
        if (blocks.length < needed) {
          throw conflictError(
            `VPC ${state.vpc?.id} has no free /${options.subnetPrefix} block for ${needed} more subnet(s)`,
            'Pass --subnet-ids of existing subnets, or a longer --subnet-prefix',
          )
        }
        state.missingSubnets = blocks.map((b, i) => ({az: freeAzs[i]!, cidr: formatCidr(b)}))
      }
    }

    if (state.vpc) {
      const tables = await describeRouteTables(ec2, [{Name: 'vpc-id', Values: [state.vpc.id]}])
      if (state.userSubnets) {
        state.userRouteTableIds = [
          ...new Set(
            state.subnets.map((s) => routeTableOf(tables, s.id)).filter((id): id is string => id !== undefined),
          ),
        ]
      } else {
        const ours = tables.find((t) => hasStackTags(t.Tags, ctx.stack) && !isPublicSide(t.Tags))
        if (ours) {
          const associations = new Map<string, string>()
          for (const a of ours.Associations ?? [])
            if (a.SubnetId && a.RouteTableAssociationId) associations.set(a.SubnetId, a.RouteTableAssociationId)
          state.routeTable = {id: ours.RouteTableId!, associations}
        }
      }
      const {VpcEndpoints = []} = await ec2.send(
        new DescribeVpcEndpointsCommand({Filters: [{Name: 'vpc-id', Values: [state.vpc.id]}]}),
      )
      for (const service of ENDPOINT_SERVICES) {
        state.endpoints[service] = VpcEndpoints.filter(
          (e) =>
            e.ServiceName === serviceName(ctx.region, service) &&
            e.VpcEndpointType === 'Gateway' &&
            !['deleted', 'deleting', 'failed', 'rejected'].includes(String(e.State).toLowerCase()),
        ).map((e) => ({
          id: e.VpcEndpointId!,
          routeTableIds: e.RouteTableIds ?? [],
          managed: hasStackTags(e.Tags, ctx.stack),
        }))
      }
    }
    return state
  },

  plan(state, ctx) {
    const changes: Change<VpcOp>[] = []
    const vpcId = state.vpc?.id ?? pending(name(ctx, 'vpc'))
    if (!state.vpc)
      changes.push({
        action: 'create',
        resource: 'vpc',
        name: name(ctx, 'vpc'),
        detail: ctx.options.cidr,
        op: {kind: 'create-vpc', id: vpcId, cidr: ctx.options.cidr},
      })
    for (const s of state.missingSubnets) {
      const id = pending(name(ctx, `subnet-${s.az}`))
      changes.push({
        action: 'create',
        resource: 'subnet',
        name: show(id),
        detail: `${s.cidr} in ${s.az}`,
        op: {kind: 'create-subnet', id, vpcId, az: s.az, cidr: s.cidr},
      })
    }
    if (!state.userSubnets) {
      const routeTableId = state.routeTable?.id ?? pending(name(ctx, 'rt'))
      if (!state.routeTable)
        changes.push({
          action: 'create',
          resource: 'route-table',
          name: name(ctx, 'rt'),
          detail: 'private: no internet route',
          op: {kind: 'create-route-table', id: routeTableId, vpcId},
        })
      for (const subnetId of subnetIdsOf(state, ctx)) {
        if (state.routeTable?.associations.has(subnetId)) continue
        changes.push({
          action: 'attach',
          resource: 'route-table-association',
          name: show(routeTableId),
          detail: `subnet ${show(subnetId)} not associated`,
          op: {kind: 'associate-route-table', routeTableId, subnetId},
        })
      }
    }
    const tables = neededRouteTables(state, ctx)
    for (const service of ENDPOINT_SERVICES) {
      const covered = new Set(state.endpoints[service].flatMap((e) => e.routeTableIds))
      const missing = tables.filter((t) => !covered.has(t))
      if (missing.length === 0) continue
      const own = state.endpoints[service].find((e) => e.managed)
      const detail = `${service} gateway ${own ? 'missing route tables' : 'on'} ${missing.map(show).join(', ')}`
      changes.push(
        own
          ? {
              action: 'update',
              resource: 'vpc-endpoint',
              name: own.id,
              detail,
              op: {kind: 'add-endpoint-route-tables', service, endpointId: own.id, routeTableIds: missing},
            }
          : {
              action: 'create',
              resource: 'vpc-endpoint',
              name: name(ctx, `${service}-endpoint`),
              detail,
              op: {kind: 'create-endpoint', service, vpcId, routeTableIds: missing},
            },
      )
    }
    return changes
  },

  resources(state) {
    const endpoints = ENDPOINT_SERVICES.flatMap((service) =>
      state.endpoints[service].map((e) => ({resource: 'vpc-endpoint', name: e.id})),
    )
    return [
      ...(state.vpc ? [{resource: 'vpc', name: state.vpc.id}] : []),
      ...state.subnets.map((s) => ({resource: 'subnet', name: s.id})),
      ...(state.routeTable ? [{resource: 'route-table', name: state.routeTable.id}] : []),
      ...endpoints,
    ]
  },

  output(state, ctx) {
    return {
      vpcId: state.vpc?.id ?? pending(name(ctx, 'vpc')),
      cidr: state.vpc?.cidr ?? ctx.options.cidr,
      ...(state.userSubnets ? {} : {privateRouteTableId: state.routeTable?.id ?? pending(name(ctx, 'rt'))}),
      subnetIds: subnetIdsOf(state, ctx),
      subnetCidrs: [...state.subnets, ...state.missingSubnets].map((s) => s.cidr),
      zones: [...state.subnets.map((s) => s.az), ...state.missingSubnets.map((s) => s.az)].filter((az) =>
        state.azs.includes(az),
      ),
      routeTableIds: neededRouteTables(state, ctx),
    }
  },

  async apply(state, plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    const ec2Once = await ctx.aws.ec2Once()
    // A create whose reply was lost is found by its tags before it is sent again (createOnce).
    const byTags = (stackName: string, extra: {Name: string; Values: string[]}[] = []) => [
      ...nameFilters(ctx.stack, stackName),
      ...extra,
    ]
    // What this run creates: pending id -> real id, for the operations after and the output.
    const created = new Map<string, string>()
    const real = (id: string) => created.get(id) ?? id
    for (const op of operations(plan)) {
      switch (op.kind) {
        case 'create-vpc': {
          const Vpc = await createOnce(
            () =>
              ec2Once
                .send(
                  new CreateVpcCommand({
                    CidrBlock: op.cidr,
                    TagSpecifications: [{ResourceType: 'vpc', Tags: stackTags(ctx.stack, show(op.id))}],
                  }),
                )
                .then((r) => r.Vpc),
            async () => {
              const {Vpcs = []} = await ec2.send(new DescribeVpcsCommand({Filters: byTags(show(op.id))}))
              return Vpcs[0]
            },
          )
          created.set(op.id, Vpc!.VpcId!)
          ctx.progress(`created ${Vpc!.VpcId}`)
          break
        }
        case 'create-subnet': {
          const Subnet = await createOnce(
            () =>
              ec2Once
                .send(
                  new CreateSubnetCommand({
                    VpcId: real(op.vpcId),
                    CidrBlock: op.cidr,
                    AvailabilityZone: op.az,
                    TagSpecifications: [{ResourceType: 'subnet', Tags: stackTags(ctx.stack, show(op.id))}],
                  }),
                )
                .then((r) => r.Subnet),
            async () => {
              const filters = byTags(show(op.id), [{Name: 'vpc-id', Values: [real(op.vpcId)]}])
              const {Subnets = []} = await ec2.send(new DescribeSubnetsCommand({Filters: filters}))
              return Subnets[0]
            },
          )
          created.set(op.id, Subnet!.SubnetId!)
          break
        }
        case 'create-route-table': {
          const {RouteTable} = await ec2.send(
            new CreateRouteTableCommand({
              // A retry after a lost reply returns the same table (EC2 idempotency token).
              ClientToken: randomUUID(),
              VpcId: real(op.vpcId),
              TagSpecifications: [{ResourceType: 'route-table', Tags: stackTags(ctx.stack, show(op.id))}],
            }),
          )
          created.set(op.id, RouteTable!.RouteTableId!)
          break
        }
        case 'associate-route-table':
          await ec2.send(
            new AssociateRouteTableCommand({RouteTableId: real(op.routeTableId), SubnetId: real(op.subnetId)}),
          )
          break
        case 'create-endpoint':
          await ec2.send(
            new CreateVpcEndpointCommand({
              ClientToken: randomUUID(),
              VpcId: real(op.vpcId),
              VpcEndpointType: 'Gateway',
              ServiceName: serviceName(ctx.region, op.service),
              RouteTableIds: op.routeTableIds.map(real),
              TagSpecifications: [
                {ResourceType: 'vpc-endpoint', Tags: stackTags(ctx.stack, name(ctx, `${op.service}-endpoint`))},
              ],
            }),
          )
          break
        case 'add-endpoint-route-tables':
          await ec2.send(
            new ModifyVpcEndpointCommand({VpcEndpointId: op.endpointId, AddRouteTableIds: op.routeTableIds.map(real)}),
          )
          break
        case 'delete-endpoint':
        case 'delete-route-table':
        case 'delete-subnet':
        case 'delete-vpc':
          throw new Error(`vpc apply was given ${op.kind}, which only destroy performs`)
        default:
          unknownOperation(op)
      }
    }
    // With --nat the NAT step gives them one.
    if (!state.userSubnets && !ctx.options.nat) {
      ctx.note(
        'The subnets have no internet route: functions in the VPC reach DynamoDB and S3 through gateway endpoints; other internet calls need a NAT gateway (about $32/month per AZ).',
      )
    }
    return resolvePending(vpcStep.output(state, ctx), created)
  },

  destroyPlan(state) {
    const changes: Change<VpcOp>[] = []
    for (const service of ENDPOINT_SERVICES) {
      for (const e of state.endpoints[service])
        if (e.managed)
          changes.push({
            action: 'delete',
            resource: 'vpc-endpoint',
            name: e.id,
            detail: service,
            op: {kind: 'delete-endpoint', service, endpointId: e.id},
          })
    }
    const table = state.routeTable
    if (table)
      changes.push({
        action: 'delete',
        resource: 'route-table',
        name: table.id,
        op: {kind: 'delete-route-table', routeTableId: table.id, associationIds: [...table.associations.values()]},
      })
    for (const s of state.subnets)
      if (s.managed)
        changes.push({
          action: 'delete',
          resource: 'subnet',
          name: s.id,
          detail: `${s.cidr} in ${s.az}`,
          op: {kind: 'delete-subnet', subnetId: s.id},
        })
    if (state.vpc?.managed)
      changes.push({
        action: 'delete',
        resource: 'vpc',
        name: state.vpc.id,
        detail: state.vpc.cidr,
        op: {kind: 'delete-vpc', vpcId: state.vpc.id},
      })
    return changes
  },

  async destroy(_state, plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    const ops = operations(plan)
    // One call removes every endpoint.
    const endpointIds = ops.flatMap((op) => (op.kind === 'delete-endpoint' ? [op.endpointId] : []))
    if (endpointIds.length) {
      // DeleteVpcEndpoints answers 200 even when some were not deleted: they are listed in
      // Unsuccessful. One already gone is what was wanted; any other is an error to report.
      const {Unsuccessful = []} = await ec2.send(new DeleteVpcEndpointsCommand({VpcEndpointIds: endpointIds}))
      const failed = Unsuccessful.filter(
        (u) => u.Error?.Code !== 'InvalidVpcEndpoint.NotFound' && u.Error?.Code !== 'InvalidVpcEndpointId.NotFound',
      )
      if (failed.length) {
        throw new CctError(
          `AWS did not delete VPC endpoint${failed.length > 1 ? 's' : ''} ${failed.map((u) => `${u.ResourceId} (${u.Error?.Code ?? 'no code'}: ${u.Error?.Message ?? 'no message'})`).join(', ')}`,
          {
            exitCode: ExitCode.Failure,
            hint: 'Fix what the message says, then run `cct rollback` again',
          },
        )
      }
    }
    for (const op of ops) {
      switch (op.kind) {
        case 'delete-endpoint':
          break
        case 'delete-route-table':
          for (const associationId of op.associationIds)
            await ec2.send(new DisassociateRouteTableCommand({AssociationId: associationId}))
          await ec2.send(new DeleteRouteTableCommand({RouteTableId: op.routeTableId}))
          break
        case 'delete-subnet':
          await deleteSubnetWhenFree(ec2, ctx, op.subnetId)
          break
        case 'delete-vpc':
          await ec2.send(new DeleteVpcCommand({VpcId: op.vpcId}))
          break
        default:
          throw new Error(`vpc destroy was given ${op.kind}, which only apply performs`)
      }
    }
  },
}

/** The stack's two subnets: those that exist, then pending ids of those a run creates. */
function subnetIdsOf(state: VpcState, ctx: StepContext): string[] {
  return [...state.subnets.map((s) => s.id), ...state.missingSubnets.map((s) => pending(name(ctx, `subnet-${s.az}`)))]
}

function neededRouteTables(state: VpcState, ctx: StepContext): string[] {
  if (state.userSubnets) return state.userRouteTableIds
  return [state.routeTable?.id ?? pending(name(ctx, 'rt'))]
}

function serviceName(region: string, service: EndpointService): string {
  return `com.amazonaws.${region}.${service}`
}

function toSubnetInfo(s: Subnet, stack: string): SubnetInfo {
  return {id: s.SubnetId!, az: s.AvailabilityZone!, cidr: s.CidrBlock!, managed: hasStackTags(s.Tags, stack)}
}

/** The route table a subnet uses: its explicit association, else the VPC's main table. */
function routeTableOf(tables: RouteTable[], subnetId: string): string | undefined {
  const explicit = tables.find((t) => t.Associations?.some((a) => a.SubnetId === subnetId))
  return (explicit ?? tables.find((t) => t.Associations?.some((a) => a.Main)))?.RouteTableId
}

/**
 * The region's AZ names in the order cct uses them: by zone id, not by name (names map to
 * zones differently in each account: "us-east-1a" is no particular zone), leaving out zones
 * that do not offer the node type. ElastiCache has no per-zone offering API; its nodes run
 * on the EC2 type of the same name (cache.t3.micro on t3.micro), so EC2's offerings by zone
 * id stand in (use1-az3, for one, has none of the current types). When EC2 does not know
 * the type, or the call is denied, no zone is left out (a note says so).
 */
async function availabilityZones(ec2: EC2Client, ctx: StepContext): Promise<string[]> {
  const region = ctx.region
  // The node type's zones are asked at once with the region's: neither answer depends on the other.
  const [{AvailabilityZones = []}, offered] = await Promise.all([
    ec2.send(new DescribeAvailabilityZonesCommand({})),
    isUndoing(ctx) ? undefined : zonesOffering(ec2, ctx),
  ])
  const zones = AvailabilityZones.filter(
    (z) => z.State === 'available' && (z.ZoneType ?? 'availability-zone') === 'availability-zone',
  )
    .map((z) => ({name: z.ZoneName!, id: z.ZoneId ?? z.ZoneName!}))
    .sort((a, b) => a.id.localeCompare(b.id, 'en', {numeric: true}))
  if (zones.length < 2) {
    throw usageError(
      `Region ${region} has ${zones.length} available availability zone${zones.length === 1 ? '' : 's'}; a cache subnet group needs two`,
      'Pick another region with --region',
    )
  }
  if (!offered) return zones.map((z) => z.name)
  const usable = zones.filter((z) => offered.has(z.id))
  if (usable.length < 2) {
    throw usageError(
      `${ctx.options.nodeType} is offered in ${usable.length} availability zone${usable.length === 1 ? '' : 's'} of ${region}${usable.length ? ` (${usable.map((z) => `${z.name}/${z.id}`).join(', ')})` : ''}; a cache with a subnet group needs two`,
      'Pick another --node-type or --region',
    )
  }
  return usable.map((z) => z.name)
}

/** Zone ids where the node type's EC2 type is offered; undefined when that cannot be told. */
async function zonesOffering(ec2: EC2Client, ctx: StepContext): Promise<Set<string> | undefined> {
  const instanceType = ctx.options.nodeType.replace(/^cache\./, '')
  const ids = new Set<string>()
  try {
    let NextToken: string | undefined
    do {
      const page = await ec2.send(
        new DescribeInstanceTypeOfferingsCommand({
          LocationType: 'availability-zone-id',
          Filters: [{Name: 'instance-type', Values: [instanceType]}],
          NextToken,
        }),
      )
      for (const o of page.InstanceTypeOfferings ?? []) if (o.Location) ids.add(o.Location)
      NextToken = page.NextToken
    } while (NextToken)
  } catch (error) {
    if (!isAwsError(error, 'UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException')) throw error
    ctx.note(
      `Could not ask which availability zones offer ${ctx.options.nodeType} (ec2:DescribeInstanceTypeOfferings denied); zones are chosen by id only.`,
    )
    return undefined
  }
  return ids.size ? ids : undefined
}

async function describeVpc(ec2: EC2Client, vpcId: string, region: string) {
  try {
    const {Vpcs = []} = await ec2.send(new DescribeVpcsCommand({VpcIds: [vpcId]}))
    if (Vpcs[0]) return Vpcs[0]
  } catch (error) {
    if (!isAwsError(error, 'InvalidVpcID.NotFound')) throw error
  }
  throw usageError(
    `VPC ${vpcId} does not exist in ${region}`,
    `List VPCs with \`aws ec2 describe-vpcs --region ${region}\`, or leave out --vpc-id to create one`,
  )
}

async function findStackVpc(ec2: EC2Client, stack: string) {
  const {Vpcs = []} = await ec2.send(new DescribeVpcsCommand({Filters: stackFilters(stack)}))
  if (Vpcs.length > 1) {
    throw conflictError(
      `Stack "${stack}" has ${Vpcs.length} VPCs tagged as its own (${Vpcs.map((v) => v.VpcId).join(', ')})`,
      'Delete the extra one, or pass --vpc-id',
    )
  }
  return Vpcs[0]
}

async function describeUserSubnets(ec2: EC2Client, ids: string[], vpcId?: string): Promise<Subnet[]> {
  const one = async (id: string): Promise<Subnet[]> => {
    try {
      return await describeSubnets(ec2, undefined, [id])
    } catch (error) {
      if (!isAwsError(error, 'InvalidSubnetID.NotFound')) throw error
      return []
    }
  }
  // One unknown id fails the whole Describe call; ask per id to name exactly which.
  const subnets = (await Promise.all(ids.map(one))).flat()
  const missing = ids.filter((id) => !subnets.some((s) => s.SubnetId === id))
  if (missing.length)
    throw usageError(
      `Subnet ${missing.join(', ')} does not exist`,
      'Check --subnet-ids against `aws ec2 describe-subnets`',
    )
  const vpcs = new Set(subnets.map((s) => s.VpcId))
  if (vpcs.size > 1 || (vpcId && !vpcs.has(vpcId))) {
    throw usageError(
      `Subnets ${ids.join(', ')} are not all in ${vpcId ?? 'one VPC'}`,
      'Pass subnets of the VPC given with --vpc-id',
    )
  }
  return subnets
}

async function describeSubnets(
  ec2: EC2Client,
  filters?: {Name: string; Values: string[]}[],
  ids?: string[],
): Promise<Subnet[]> {
  const {Subnets = []} = await ec2.send(
    new DescribeSubnetsCommand({...(filters ? {Filters: filters} : {}), ...(ids ? {SubnetIds: ids} : {})}),
  )
  return Subnets
}

async function describeRouteTables(ec2: EC2Client, filters: {Name: string; Values: string[]}[]): Promise<RouteTable[]> {
  const {RouteTables = []} = await ec2.send(new DescribeRouteTablesCommand({Filters: filters}))
  return RouteTables
}
