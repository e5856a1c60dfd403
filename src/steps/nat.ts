import {randomUUID} from 'node:crypto'

import {
  AllocateAddressCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  DeleteInternetGatewayCommand,
  DeleteNatGatewayCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DescribeAddressesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  ReleaseAddressCommand,
  type EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2'

import {createOnce} from '../aws/create-once.js'
import {isAwsError} from '../aws/errors.js'
import {deleteSubnetWhenFree, deleteWhenFree} from '../aws/in-use.js'
import {waitUntil} from '../aws/wait.js'
import {
  isPending,
  isUndoing,
  operations,
  pending,
  unknownOperation,
  usually,
  type Change,
  type Step,
  type StepContext,
  type Takes,
} from '../engine/step.js'
import {usageError} from '../errors.js'
import {formatCidr, freeBlocks, parseCidr} from '../net/cidr.js'
import {natMonthlyUsd, natPrices, type NatPrices} from '../pricing/prices.js'
import {hasStackTags, isPublicSide, nameFilters, ROLE_KEY, stackFilters, stackTags} from '../tags.js'

export interface NatOutput {
  natGatewayId?: string
}

declare module '../engine/step.js' {
  interface StepOutputs {
    nat: NatOutput
  }
}

const ANYWHERE = '0.0.0.0/0'
const LIVE_NAT = ['pending', 'available']

export interface NatState {
  vpcId: string
  /** The zone of the stack's first private subnet: where the public subnet and the NAT go. */
  az?: string
  vpcCidr: string
  privateRouteTableId?: string
  privateRoute?: {target: string}
  igw?: {id: string; attached: boolean}
  publicSubnet?: {id: string; az: string}
  publicSubnetCidr?: string
  /** `subnetIds`: the subnets associated with it (ids of the associations in `associations`). */
  publicRouteTable?: {id: string; associations: string[]; subnetIds: string[]; hasDefaultRoute: boolean}
  eip?: {allocationId: string}
  nat?: {id: string; state: string}
  /** Looked up here (plan is synchronous) when the plan shows a NAT's cost. */
  prices?: NatPrices
}

/** How long a NAT gateway takes to become available. */
const NAT_TAKES: Takes = {minMinutes: 1, maxMinutes: 2}

/** "about $32.85/month + $0.045/GB processed (<source>)": what the plan and its note show. */
function natCost(prices: NatPrices | undefined): string {
  if (!prices) return 'price not looked up'
  const {hourly, perGb} = prices
  const source = hourly.source === perGb.source ? hourly.source : `${hourly.source}; per GB ${perGb.source}`
  return `about $${natMonthlyUsd(prices).toFixed(2)}/month + $${perGb.usd}/GB processed (${source})`
}

const name = (ctx: StepContext, thing: string) => `${ctx.stack}-${thing}`
const publicTags = (ctx: StepContext, thing: string): Tag[] => [
  ...stackTags(ctx.stack, name(ctx, thing)),
  {Key: ROLE_KEY, Value: 'public'},
]

/**
 * Opt-in (--nat): a NAT gateway for functions that call internet services other than
 * DynamoDB and S3 (which the free gateway endpoints already serve). One gateway, in the
 * first AZ: about $33/month plus $0.045/GB, shown before it is created. Without --nat the
 * step changes nothing; rollback removes what an earlier --nat created.
 */
/** What the nat step does; ids a run creates are pending(name). */
export type NatOp =
  /** Creates the gateway and attaches it to the VPC. */
  | {kind: 'create-internet-gateway'; id: string; vpcId: string}
  | {kind: 'attach-internet-gateway'; igwId: string; vpcId: string}
  /** `az`: the first of the functions' zones, so the NAT serves them from a zone they use. */
  | {kind: 'create-public-subnet'; id: string; vpcId: string; cidr?: string; az?: string}
  | {kind: 'create-public-route-table'; vpcId: string; igwId: string; subnetId: string}
  /** A public table a crashed run made and left without its route or its subnet. */
  | {kind: 'route-public-table'; routeTableId: string; igwId: string}
  | {kind: 'associate-public-table'; routeTableId: string; subnetId: string}
  | {kind: 'allocate-eip'; id: string}
  | {kind: 'create-nat-gateway'; id: string; subnetId: string; allocationId: string}
  /** `occupiedBy`: the private table already routes 0.0.0.0/0 elsewhere; cct will not replace it. */
  | {kind: 'route-to-nat'; routeTableId: string; natGatewayId: string; occupiedBy?: string}
  | {kind: 'delete-route'; routeTableId: string}
  | {kind: 'delete-nat-gateway'; natGatewayId: string}
  | {kind: 'release-eip'; allocationId: string}
  | {kind: 'delete-route-table'; routeTableId: string; associationIds: string[]}
  | {kind: 'delete-subnet'; subnetId: string}
  | {kind: 'delete-internet-gateway'; igwId: string; attachedTo?: string}

export const natStep: Step<'nat', NatState, NatOp> = {
  id: 'nat',
  title: 'NAT gateway (opt-in)',
  needs: ['vpc'],
  command: 'cct vpc --nat',

  async inspect(ctx) {
    const {vpcId, cidr, privateRouteTableId, zones, subnetCidrs} = ctx.need('vpc')
    const state: NatState = {
      vpcId,
      vpcCidr: cidr,
      ...(zones[0] ? {az: zones[0]} : {}),
      privateRouteTableId: privateRouteTableId && !isPending(privateRouteTableId) ? privateRouteTableId : undefined,
    }
    if (ctx.options.nat && !privateRouteTableId) {
      throw usageError(
        '--nat needs the private subnets cct creates',
        'Leave out --subnet-ids, or route your own subnets to a NAT gateway',
      )
    }
    const priced = async () => {
      if (!isUndoing(ctx) && (ctx.options.nat || state.nat)) state.prices = await natPrices(ctx.aws, ctx.region)
      return state
    }
    // The private subnets the vpc step plans are taken too: it creates them before this step does its own.
    const publicBlock = (taken: string[]) => {
      const block = freeBlocks(
        parseCidr(cidr),
        ctx.options.subnetPrefix,
        taken.map((block) => parseCidr(block)),
        1,
      )[0]
      return block && formatCidr(block)
    }
    if (isPending(vpcId)) {
      state.publicSubnetCidr = publicBlock(subnetCidrs)
      return priced()
    }
    const ec2 = await ctx.aws.ec2()
    const filters = stackFilters(ctx.stack)
    const inVpc = {Name: 'vpc-id', Values: [vpcId]}
    const [{InternetGateways = []}, {Subnets = []}, {RouteTables = []}, {Addresses = []}, {NatGateways = []}] =
      await Promise.all([
        ec2.send(new DescribeInternetGatewaysCommand({Filters: filters})),
        ec2.send(new DescribeSubnetsCommand({Filters: [inVpc]})),
        ec2.send(new DescribeRouteTablesCommand({Filters: [inVpc]})),
        ec2.send(new DescribeAddressesCommand({Filters: filters})),
        ec2.send(new DescribeNatGatewaysCommand({Filter: [...filters, inVpc]})),
      ])
    const igw = InternetGateways[0]
    if (igw) state.igw = {id: igw.InternetGatewayId!, attached: (igw.Attachments ?? []).some((a) => a.VpcId === vpcId)}
    const subnet = Subnets.find((s) => isPublicSide(s.Tags) && hasStackTags(s.Tags, ctx.stack))
    if (subnet) state.publicSubnet = {id: subnet.SubnetId!, az: subnet.AvailabilityZone!}
    else state.publicSubnetCidr = publicBlock([...Subnets.map((s) => s.CidrBlock!), ...subnetCidrs])
    const publicTable = RouteTables.find((t) => isPublicSide(t.Tags) && hasStackTags(t.Tags, ctx.stack))
    if (publicTable) {
      state.publicRouteTable = {
        id: publicTable.RouteTableId!,
        associations: (publicTable.Associations ?? []).filter((a) => a.SubnetId).map((a) => a.RouteTableAssociationId!),
        subnetIds: (publicTable.Associations ?? []).filter((a) => a.SubnetId).map((a) => a.SubnetId!),
        hasDefaultRoute: (publicTable.Routes ?? []).some((r) => r.DestinationCidrBlock === ANYWHERE),
      }
    }
    if (Addresses[0]) state.eip = {allocationId: Addresses[0].AllocationId!}
    const nat = NatGateways.find((n) => LIVE_NAT.includes(n.State ?? ''))
    if (nat) state.nat = {id: nat.NatGatewayId!, state: nat.State!}
    const route = RouteTables.find((t) => t.RouteTableId === state.privateRouteTableId)?.Routes?.find(
      (r) => r.DestinationCidrBlock === ANYWHERE,
    )
    if (route) state.privateRoute = {target: route.NatGatewayId ?? route.GatewayId ?? 'another target'}
    return priced()
  },

  plan(state, ctx) {
    if (!ctx.options.nat) {
      if (state.nat)
        ctx.note(`NAT gateway ${state.nat.id} exists (${natCost(state.prices)}); \`cct rollback\` removes it.`)
      return []
    }
    const changes: Change<NatOp>[] = []
    const igwId = state.igw?.id ?? pending(name(ctx, 'igw'))
    const subnetId = state.publicSubnet?.id ?? pending(name(ctx, 'public-subnet'))
    const allocationId = state.eip?.allocationId ?? pending(name(ctx, 'nat-eip'))
    const natGatewayId = state.nat?.id ?? pending(name(ctx, 'nat'))
    if (!state.igw)
      changes.push({
        action: 'create',
        resource: 'internet-gateway',
        name: name(ctx, 'igw'),
        detail: 'for the NAT gateway only; functions stay private',
        op: {kind: 'create-internet-gateway', id: igwId, vpcId: state.vpcId},
      })
    else if (!state.igw.attached)
      changes.push({
        action: 'attach',
        resource: 'internet-gateway',
        name: state.igw.id,
        detail: `not attached to ${state.vpcId}`,
        op: {kind: 'attach-internet-gateway', igwId, vpcId: state.vpcId},
      })
    if (!state.publicSubnet)
      changes.push({
        action: 'create',
        resource: 'subnet',
        name: name(ctx, 'public-subnet'),
        detail: state.publicSubnetCidr
          ? `${state.publicSubnetCidr}${state.az ? ` in ${state.az}` : ''}`
          : 'no free block',
        op: {
          kind: 'create-public-subnet',
          id: subnetId,
          vpcId: state.vpcId,
          cidr: state.publicSubnetCidr,
          ...(state.az ? {az: state.az} : {}),
        },
      })
    const table = state.publicRouteTable
    if (!table)
      changes.push({
        action: 'create',
        resource: 'route-table',
        name: name(ctx, 'public-rt'),
        detail: `${ANYWHERE} -> internet gateway`,
        op: {kind: 'create-public-route-table', vpcId: state.vpcId, igwId, subnetId},
      })
    else {
      if (!table.hasDefaultRoute)
        changes.push({
          action: 'create',
          resource: 'route',
          name: table.id,
          detail: `${ANYWHERE} -> internet gateway`,
          op: {kind: 'route-public-table', routeTableId: table.id, igwId},
        })
      if (!table.subnetIds.includes(subnetId))
        changes.push({
          action: 'attach',
          resource: 'route-table-association',
          name: table.id,
          detail: `public subnet ${subnetId.replace(/^pending:/, '')} not associated`,
          op: {kind: 'associate-public-table', routeTableId: table.id, subnetId},
        })
    }
    if (!state.eip)
      changes.push({
        action: 'create',
        resource: 'elastic-ip',
        name: name(ctx, 'nat-eip'),
        op: {kind: 'allocate-eip', id: allocationId},
      })
    if (!state.nat)
      changes.push({
        action: 'create',
        resource: 'nat-gateway',
        name: name(ctx, 'nat'),
        detail: natCost(state.prices),
        cost: natCost(state.prices),
        takes: NAT_TAKES,
        op: {kind: 'create-nat-gateway', id: natGatewayId, subnetId, allocationId},
      })
    if (!state.privateRoute || (state.nat && state.privateRoute.target !== state.nat.id)) {
      const occupiedBy =
        state.privateRoute && state.privateRoute.target !== state.nat?.id ? state.privateRoute.target : undefined
      const op: NatOp = {
        kind: 'route-to-nat',
        routeTableId: state.privateRouteTableId ?? pending(name(ctx, 'rt')),
        natGatewayId,
        ...(occupiedBy ? {occupiedBy} : {}),
      }
      changes.push({
        action: 'create',
        resource: 'route',
        name: name(ctx, 'rt'),
        detail: `${ANYWHERE} -> NAT gateway${occupiedBy ? ` (routes to ${occupiedBy} now)` : ''}`,
        op,
      })
    }
    return changes
  },

  resources(state, ctx) {
    return [
      ...(state.igw ? [{resource: 'internet-gateway', name: state.igw.id}] : []),
      ...(state.publicSubnet ? [{resource: 'subnet', name: state.publicSubnet.id}] : []),
      ...(state.publicRouteTable ? [{resource: 'route-table', name: state.publicRouteTable.id}] : []),
      ...(state.eip ? [{resource: 'elastic-ip', name: state.eip.allocationId}] : []),
      ...(state.nat ? [{resource: 'nat-gateway', name: state.nat.id}] : []),
      ...(state.privateRoute && state.privateRoute.target === state.nat?.id
        ? [{resource: 'route', name: name(ctx, 'rt')}]
        : []),
    ]
  },

  output(state) {
    return state.nat ? {natGatewayId: state.nat.id} : {}
  },

  async apply(state, plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    const ec2Once = await ctx.aws.ec2Once()
    const ops = operations(plan)
    for (const op of ops) {
      if (op.kind === 'route-to-nat' && op.occupiedBy)
        throw usageError(
          `${name(ctx, 'rt')} already routes ${ANYWHERE} to ${op.occupiedBy}`,
          'Remove that route, or leave out --nat',
        )
    }
    const created = new Map<string, string>()
    const real = (id: string) => created.get(id) ?? id
    // Every run that changes anything waits for the gateway: the route to it is only useful once it is up.
    let natId = state.nat?.id
    const waitForNat = async (id: string) =>
      waitUntil(
        ctx,
        `NAT gateway ${id} to be available`,
        async () => {
          const status = (await describeNat(ec2, id)) ?? 'missing'
          if (status === 'failed')
            throw usageError(
              `NAT gateway ${id} failed to start`,
              'See it in the VPC console, then run `cct vpc --nat` again',
            )
          return {done: status === 'available', status}
        },
        'cct vpc --nat',
        usually(NAT_TAKES),
      )
    let waited = false
    for (const op of ops) {
      switch (op.kind) {
        case 'create-internet-gateway': {
          const gateway = await createOnce(
            () =>
              ec2Once
                .send(
                  new CreateInternetGatewayCommand({
                    TagSpecifications: [{ResourceType: 'internet-gateway', Tags: publicTags(ctx, 'igw')}],
                  }),
                )
                .then((r) => r.InternetGateway),
            async () =>
              (await ec2.send(new DescribeInternetGatewaysCommand({Filters: nameFilters(ctx.stack, name(ctx, 'igw'))})))
                .InternetGateways?.[0],
          )
          created.set(op.id, gateway!.InternetGatewayId!)
          await attachGateway(ec2, gateway!.InternetGatewayId!, op.vpcId)
          break
        }
        case 'attach-internet-gateway':
          await attachGateway(ec2, real(op.igwId), op.vpcId)
          break
        case 'create-public-subnet': {
          if (!op.cidr)
            throw usageError(
              `VPC ${op.vpcId} has no free /${ctx.options.subnetPrefix} block for a public subnet`,
              'Use a longer --subnet-prefix',
            )
          const cidr = op.cidr
          const subnet = await createOnce(
            () =>
              ec2Once
                .send(
                  new CreateSubnetCommand({
                    VpcId: op.vpcId,
                    CidrBlock: cidr,
                    ...(op.az ? {AvailabilityZone: op.az} : {}),
                    TagSpecifications: [{ResourceType: 'subnet', Tags: publicTags(ctx, 'public-subnet')}],
                  }),
                )
                .then((r) => r.Subnet),
            async () => {
              const filters = [
                ...nameFilters(ctx.stack, name(ctx, 'public-subnet')),
                {Name: 'vpc-id', Values: [op.vpcId]},
              ]
              return (await ec2.send(new DescribeSubnetsCommand({Filters: filters}))).Subnets?.[0]
            },
          )
          created.set(op.id, subnet!.SubnetId!)
          break
        }
        case 'create-public-route-table': {
          const table = (
            await ec2.send(
              new CreateRouteTableCommand({
                // A retry after a lost reply returns the same table (EC2 idempotency token).
                ClientToken: randomUUID(),
                VpcId: op.vpcId,
                TagSpecifications: [{ResourceType: 'route-table', Tags: publicTags(ctx, 'public-rt')}],
              }),
            )
          ).RouteTable!.RouteTableId!
          await routeAnywhere(ec2, table, {GatewayId: real(op.igwId)})
          await ec2.send(new AssociateRouteTableCommand({RouteTableId: table, SubnetId: real(op.subnetId)}))
          break
        }
        case 'route-public-table':
          await routeAnywhere(ec2, op.routeTableId, {GatewayId: real(op.igwId)})
          break
        case 'associate-public-table':
          await ec2.send(new AssociateRouteTableCommand({RouteTableId: op.routeTableId, SubnetId: real(op.subnetId)}))
          break
        case 'allocate-eip': {
          const address = await createOnce<{AllocationId?: string} | undefined>(
            () =>
              ec2Once.send(
                new AllocateAddressCommand({
                  Domain: 'vpc',
                  TagSpecifications: [{ResourceType: 'elastic-ip', Tags: publicTags(ctx, 'nat-eip')}],
                }),
              ),
            async () =>
              (await ec2.send(new DescribeAddressesCommand({Filters: nameFilters(ctx.stack, name(ctx, 'nat-eip'))})))
                .Addresses?.[0],
          )
          created.set(op.id, address!.AllocationId!)
          break
        }
        case 'create-nat-gateway': {
          const {NatGateway} = await ec2.send(
            new CreateNatGatewayCommand({
              // The SDK's retry of a create whose reply was lost returns the same gateway.
              ClientToken: randomUUID(),
              SubnetId: real(op.subnetId),
              AllocationId: real(op.allocationId),
              TagSpecifications: [{ResourceType: 'natgateway', Tags: publicTags(ctx, 'nat')}],
            }),
          )
          natId = NatGateway!.NatGatewayId!
          created.set(op.id, natId)
          break
        }
        case 'route-to-nat':
          await waitForNat(real(op.natGatewayId))
          waited = true
          await routeAnywhere(ec2, real(op.routeTableId), {NatGatewayId: real(op.natGatewayId)})
          break
        case 'delete-route':
        case 'delete-nat-gateway':
        case 'release-eip':
        case 'delete-route-table':
        case 'delete-subnet':
        case 'delete-internet-gateway':
          throw new Error(`nat apply was given ${op.kind}, which only destroy performs`)
        default:
          unknownOperation(op)
      }
    }
    if (!waited && natId) await waitForNat(natId)
    return {natGatewayId: natId!}
  },

  destroyPlan(state, ctx) {
    const changes: Change<NatOp>[] = []
    if (state.privateRoute && state.nat && state.privateRoute.target === state.nat.id) {
      changes.push({
        action: 'delete',
        resource: 'route',
        name: name(ctx, 'rt'),
        detail: `${ANYWHERE} -> ${state.nat.id}`,
        op: {kind: 'delete-route', routeTableId: state.privateRouteTableId!},
      })
    }
    if (state.nat)
      changes.push({
        action: 'delete',
        resource: 'nat-gateway',
        name: state.nat.id,
        op: {kind: 'delete-nat-gateway', natGatewayId: state.nat.id},
      })
    if (state.eip)
      changes.push({
        action: 'delete',
        resource: 'elastic-ip',
        name: state.eip.allocationId,
        op: {kind: 'release-eip', allocationId: state.eip.allocationId},
      })
    if (state.publicRouteTable)
      changes.push({
        action: 'delete',
        resource: 'route-table',
        name: state.publicRouteTable.id,
        op: {
          kind: 'delete-route-table',
          routeTableId: state.publicRouteTable.id,
          associationIds: state.publicRouteTable.associations,
        },
      })
    if (state.publicSubnet)
      changes.push({
        action: 'delete',
        resource: 'subnet',
        name: state.publicSubnet.id,
        op: {kind: 'delete-subnet', subnetId: state.publicSubnet.id},
      })
    if (state.igw)
      changes.push({
        action: 'delete',
        resource: 'internet-gateway',
        name: state.igw.id,
        op: {
          kind: 'delete-internet-gateway',
          igwId: state.igw.id,
          ...(state.igw.attached ? {attachedTo: state.vpcId} : {}),
        },
      })
    return changes
  },

  async destroy(_state, plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    for (const op of operations(plan)) {
      switch (op.kind) {
        case 'delete-route':
          await ec2.send(new DeleteRouteCommand({RouteTableId: op.routeTableId, DestinationCidrBlock: ANYWHERE}))
          break
        case 'delete-nat-gateway':
          await ec2.send(new DeleteNatGatewayCommand({NatGatewayId: op.natGatewayId}))
          await waitUntil(
            ctx,
            `NAT gateway ${op.natGatewayId} to be deleted`,
            async () => {
              const s = (await describeNat(ec2, op.natGatewayId)) ?? 'deleted'
              return {done: s === 'deleted', status: s}
            },
            'cct rollback',
            'usually about a minute',
          )
          break
        case 'release-eip':
          await releaseWhenFree(ec2, ctx, op.allocationId)
          break
        case 'delete-route-table':
          for (const association of op.associationIds)
            await ec2.send(new DisassociateRouteTableCommand({AssociationId: association}))
          await ec2.send(new DeleteRouteTableCommand({RouteTableId: op.routeTableId}))
          break
        case 'delete-subnet':
          await deleteSubnetWhenFree(ec2, ctx, op.subnetId)
          break
        case 'delete-internet-gateway':
          if (op.attachedTo)
            await ec2.send(new DetachInternetGatewayCommand({InternetGatewayId: op.igwId, VpcId: op.attachedTo}))
          await ec2.send(new DeleteInternetGatewayCommand({InternetGatewayId: op.igwId}))
          break
        default:
          throw new Error(`nat destroy was given ${op.kind}, which only apply performs`)
      }
    }
  },
}

/**
 * The internet gateway attached to the VPC. The SDK's retry of an attach whose reply was
 * lost is refused (Resource.AlreadyAssociated): attached to this VPC, that is done.
 */
async function attachGateway(ec2: EC2Client, igwId: string, vpcId: string): Promise<void> {
  try {
    await ec2.send(new AttachInternetGatewayCommand({InternetGatewayId: igwId, VpcId: vpcId}))
  } catch (error) {
    if (!isAwsError(error, 'Resource.AlreadyAssociated')) throw error
    const {InternetGateways = []} = await ec2.send(new DescribeInternetGatewaysCommand({InternetGatewayIds: [igwId]}))
    if (!(InternetGateways[0]?.Attachments ?? []).some((a) => a.VpcId === vpcId)) throw error
  }
}

/**
 * 0.0.0.0/0 to `target` in a route table. The SDK's retry of a CreateRoute whose reply was
 * lost is refused (RouteAlreadyExists): the route there going to the same target is this
 * call's own; one to anything else stays a refusal.
 */
async function routeAnywhere(
  ec2: EC2Client,
  routeTableId: string,
  target: {GatewayId: string} | {NatGatewayId: string},
): Promise<void> {
  try {
    await ec2.send(new CreateRouteCommand({RouteTableId: routeTableId, DestinationCidrBlock: ANYWHERE, ...target}))
  } catch (error) {
    if (!isAwsError(error, 'RouteAlreadyExists')) throw error
    const {RouteTables = []} = await ec2.send(new DescribeRouteTablesCommand({RouteTableIds: [routeTableId]}))
    const route = RouteTables[0]?.Routes?.find((r) => r.DestinationCidrBlock === ANYWHERE)
    const wanted = 'GatewayId' in target ? target.GatewayId : target.NatGatewayId
    if (route?.GatewayId !== wanted && route?.NatGatewayId !== wanted) throw error
  }
}

/**
 * A NAT gateway gives up its Elastic IP only once it is deleted (a gateway deleted by an
 * earlier, interrupted run may still be deleting), and the address can take a moment
 * more to be disassociated: wait for every gateway that uses it, then release, retrying
 * while AWS still says the address is in use.
 */
async function releaseWhenFree(ec2: EC2Client, ctx: StepContext, allocationId: string): Promise<void> {
  await deleteWhenFree(ctx, {
    what: `Elastic IP ${allocationId}`,
    remove: async () => {
      const {NatGateways = []} = await ec2.send(
        new DescribeNatGatewaysCommand({Filter: [{Name: 'state', Values: ['pending', 'available', 'deleting']}]}),
      )
      const holder = NatGateways.find((n) => (n.NatGatewayAddresses ?? []).some((a) => a.AllocationId === allocationId))
      if (holder)
        throw Object.assign(new Error(`still used by ${holder.NatGatewayId} (${holder.State})`), {
          name: 'InvalidIPAddress.InUse',
        })
      return ec2.send(new ReleaseAddressCommand({AllocationId: allocationId}))
    },
    busyError: 'InvalidIPAddress.InUse',
    status: async () => 'still associated with a NAT gateway',
    resume: 'cct rollback',
    estimate: 'usually under a minute',
  })
}

async function describeNat(ec2: EC2Client, id: string): Promise<string | undefined> {
  const {NatGateways = []} = await ec2.send(new DescribeNatGatewaysCommand({NatGatewayIds: [id]}))
  return NatGateways[0]?.State
}
