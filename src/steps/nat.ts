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

import {deleteSubnetWhenFree} from '../aws/in-use.js'
import {waitUntil} from '../aws/wait.js'
import {isPending, isUndoing, type Change, type Step, type StepContext} from '../engine/step.js'
import {usageError} from '../errors.js'
import {formatCidr, freeBlocks, parseCidr} from '../net/cidr.js'
import {natMonthlyUsd, natPrices, type NatPrices} from '../pricing/prices.js'
import {hasStackTags, isPublicSide, ROLE_KEY, stackFilters, stackTags} from '../tags.js'

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
  vpcCidr: string
  privateRouteTableId?: string
  privateRoute?: {target: string}
  igw?: {id: string; attached: boolean}
  publicSubnet?: {id: string; az: string}
  publicSubnetCidr?: string
  publicRouteTable?: {id: string; associations: string[]; hasDefaultRoute: boolean}
  eip?: {allocationId: string}
  nat?: {id: string; state: string}
  /** Looked up here (plan is synchronous) when the plan shows a NAT's cost. */
  prices?: NatPrices
}

/** "about $32.85/month + $0.045/GB processed (<source>)": what the plan and its note show. */
function natCost(prices: NatPrices | undefined): string {
  if (!prices) return 'price not looked up'
  const {hourly, perGb} = prices
  const source = hourly.source === perGb.source ? hourly.source : `${hourly.source}; per GB ${perGb.source}`
  return `about $${natMonthlyUsd(prices).toFixed(2)}/month + $${perGb.usd}/GB processed (${source})`
}

const name = (ctx: StepContext, thing: string) => `${ctx.stack}-${thing}`
const publicTags = (ctx: StepContext, thing: string): Tag[] => [...stackTags(ctx.stack, name(ctx, thing)), {Key: ROLE_KEY, Value: 'public'}]

/**
 * Opt-in (--nat): a NAT gateway for functions that call internet services other than
 * DynamoDB and S3 (which the free gateway endpoints already serve). One gateway, in the
 * first AZ: about $33/month plus $0.045/GB, shown before it is created. Without --nat the
 * step changes nothing; rollback removes what an earlier --nat created.
 */
export const natStep: Step<'nat', NatState> = {
  id: 'nat',
  title: 'NAT gateway (opt-in)',
  needs: ['vpc'],
  command: 'cct vpc --nat',

  async inspect(ctx) {
    const {vpcId, cidr, privateRouteTableId} = ctx.need('vpc')
    const state: NatState = {vpcId, vpcCidr: cidr, privateRouteTableId: privateRouteTableId && !isPending(privateRouteTableId) ? privateRouteTableId : undefined}
    if (ctx.options.nat && !privateRouteTableId) {
      throw usageError('--nat needs the private subnets cct creates', 'Leave out --subnet-ids, or route your own subnets to a NAT gateway')
    }
    const priced = async () => {
      if (!isUndoing(ctx) && (ctx.options.nat || state.nat)) state.prices = await natPrices(ctx.aws, ctx.region)
      return state
    }
    if (isPending(vpcId)) return priced()
    const ec2 = await ctx.aws.ec2()
    const filters = stackFilters(ctx.stack)
    const inVpc = {Name: 'vpc-id', Values: [vpcId]}
    const [{InternetGateways = []}, {Subnets = []}, {RouteTables = []}, {Addresses = []}, {NatGateways = []}] = await Promise.all([
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
    else {
      const block = freeBlocks(parseCidr(cidr), ctx.options.subnetPrefix, Subnets.map((s) => parseCidr(s.CidrBlock!)), 1)[0]
      state.publicSubnetCidr = block && formatCidr(block)
    }
    const publicTable = RouteTables.find((t) => isPublicSide(t.Tags) && hasStackTags(t.Tags, ctx.stack))
    if (publicTable) {
      state.publicRouteTable = {
        id: publicTable.RouteTableId!,
        associations: (publicTable.Associations ?? []).filter((a) => a.SubnetId).map((a) => a.RouteTableAssociationId!),
        hasDefaultRoute: (publicTable.Routes ?? []).some((r) => r.DestinationCidrBlock === ANYWHERE),
      }
    }
    if (Addresses[0]) state.eip = {allocationId: Addresses[0].AllocationId!}
    const nat = NatGateways.find((n) => LIVE_NAT.includes(n.State ?? ''))
    if (nat) state.nat = {id: nat.NatGatewayId!, state: nat.State!}
    const route = RouteTables.find((t) => t.RouteTableId === state.privateRouteTableId)?.Routes?.find((r) => r.DestinationCidrBlock === ANYWHERE)
    if (route) state.privateRoute = {target: route.NatGatewayId ?? route.GatewayId ?? 'another target'}
    return priced()
  },

  plan(state, ctx) {
    if (!ctx.options.nat) {
      if (state.nat) ctx.note(`NAT gateway ${state.nat.id} exists (${natCost(state.prices)}); \`cct rollback\` removes it.`)
      return []
    }
    const changes: Change[] = []
    if (!state.igw) changes.push({action: 'create', resource: 'internet-gateway', name: name(ctx, 'igw'), detail: 'for the NAT gateway only; functions stay private'})
    else if (!state.igw.attached) changes.push({action: 'attach', resource: 'internet-gateway', name: state.igw.id, detail: state.vpcId})
    if (!state.publicSubnet) changes.push({action: 'create', resource: 'subnet', name: name(ctx, 'public-subnet'), detail: state.publicSubnetCidr ?? 'no free block'})
    if (!state.publicRouteTable) changes.push({action: 'create', resource: 'route-table', name: name(ctx, 'public-rt'), detail: `${ANYWHERE} -> internet gateway`})
    if (!state.eip) changes.push({action: 'create', resource: 'elastic-ip', name: name(ctx, 'nat-eip')})
    if (!state.nat) changes.push({action: 'create', resource: 'nat-gateway', name: name(ctx, 'nat'), detail: natCost(state.prices)})
    if (!state.privateRoute || (state.nat && state.privateRoute.target !== state.nat.id)) {
      changes.push({action: 'create', resource: 'route', name: name(ctx, 'rt'), detail: `${ANYWHERE} -> NAT gateway`})
    }
    return changes
  },

  output(state) {
    return state.nat ? {natGatewayId: state.nat.id} : {}
  },

  async apply(state, _plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    if (state.privateRoute && state.privateRoute.target !== state.nat?.id) {
      throw usageError(`${name(ctx, 'rt')} already routes ${ANYWHERE} to ${state.privateRoute.target}`, 'Remove that route, or leave out --nat')
    }
    let igwId = state.igw?.id
    if (!igwId) {
      igwId = (await ec2.send(new CreateInternetGatewayCommand({TagSpecifications: [{ResourceType: 'internet-gateway', Tags: publicTags(ctx, 'igw')}]}))).InternetGateway!.InternetGatewayId!
    }
    if (!state.igw?.attached) await ec2.send(new AttachInternetGatewayCommand({InternetGatewayId: igwId, VpcId: state.vpcId}))
    let subnetId = state.publicSubnet?.id
    if (!subnetId) {
      if (!state.publicSubnetCidr) throw usageError(`VPC ${state.vpcId} has no free /${ctx.options.subnetPrefix} block for a public subnet`, 'Use a longer --subnet-prefix')
      subnetId = (await ec2.send(new CreateSubnetCommand({VpcId: state.vpcId, CidrBlock: state.publicSubnetCidr, TagSpecifications: [{ResourceType: 'subnet', Tags: publicTags(ctx, 'public-subnet')}]}))).Subnet!.SubnetId!
    }
    if (!state.publicRouteTable) {
      const table = (await ec2.send(new CreateRouteTableCommand({VpcId: state.vpcId, TagSpecifications: [{ResourceType: 'route-table', Tags: publicTags(ctx, 'public-rt')}]}))).RouteTable!.RouteTableId!
      await ec2.send(new CreateRouteCommand({RouteTableId: table, DestinationCidrBlock: ANYWHERE, GatewayId: igwId}))
      await ec2.send(new AssociateRouteTableCommand({RouteTableId: table, SubnetId: subnetId}))
    }
    const allocationId =
      state.eip?.allocationId ?? (await ec2.send(new AllocateAddressCommand({Domain: 'vpc', TagSpecifications: [{ResourceType: 'elastic-ip', Tags: publicTags(ctx, 'nat-eip')}]}))).AllocationId!
    const natId =
      state.nat?.id ??
      (await ec2.send(new CreateNatGatewayCommand({SubnetId: subnetId, AllocationId: allocationId, TagSpecifications: [{ResourceType: 'natgateway', Tags: publicTags(ctx, 'nat')}]}))).NatGateway!.NatGatewayId!
    await waitUntil(
      ctx,
      `NAT gateway ${natId} to be available`,
      async () => {
        const state = (await describeNat(ec2, natId)) ?? 'missing'
        if (state === 'failed') throw usageError(`NAT gateway ${natId} failed to start`, 'See it in the VPC console, then run `cct vpc --nat` again')
        return {done: state === 'available', status: state}
      },
      'cct vpc --nat',
      'usually 1-2 minutes',
    )
    if (state.privateRoute?.target !== natId) await ec2.send(new CreateRouteCommand({RouteTableId: state.privateRouteTableId!, DestinationCidrBlock: ANYWHERE, NatGatewayId: natId}))
    return {natGatewayId: natId}
  },

  destroyPlan(state, ctx) {
    const changes: Change[] = []
    if (state.privateRoute && state.nat && state.privateRoute.target === state.nat.id) changes.push({action: 'delete', resource: 'route', name: name(ctx, 'rt'), detail: `${ANYWHERE} -> ${state.nat.id}`})
    if (state.nat) changes.push({action: 'delete', resource: 'nat-gateway', name: state.nat.id})
    if (state.eip) changes.push({action: 'delete', resource: 'elastic-ip', name: state.eip.allocationId})
    if (state.publicRouteTable) changes.push({action: 'delete', resource: 'route-table', name: state.publicRouteTable.id})
    if (state.publicSubnet) changes.push({action: 'delete', resource: 'subnet', name: state.publicSubnet.id})
    if (state.igw) changes.push({action: 'delete', resource: 'internet-gateway', name: state.igw.id})
    return changes
  },

  async destroy(state, _plan, ctx) {
    const ec2 = await ctx.aws.ec2()
    if (state.privateRoute && state.nat && state.privateRoute.target === state.nat.id) {
      await ec2.send(new DeleteRouteCommand({RouteTableId: state.privateRouteTableId!, DestinationCidrBlock: ANYWHERE}))
    }
    if (state.nat) {
      const natId = state.nat.id
      await ec2.send(new DeleteNatGatewayCommand({NatGatewayId: natId}))
      await waitUntil(ctx, `NAT gateway ${natId} to be deleted`, async () => {
        const s = (await describeNat(ec2, natId)) ?? 'deleted'
        return {done: s === 'deleted', status: s}
      }, 'cct rollback', 'usually about a minute')
    }
    if (state.eip) await ec2.send(new ReleaseAddressCommand({AllocationId: state.eip.allocationId}))
    if (state.publicRouteTable) {
      for (const association of state.publicRouteTable.associations) await ec2.send(new DisassociateRouteTableCommand({AssociationId: association}))
      await ec2.send(new DeleteRouteTableCommand({RouteTableId: state.publicRouteTable.id}))
    }
    if (state.publicSubnet) await deleteSubnetWhenFree(ec2, ctx, state.publicSubnet.id)
    if (state.igw) {
      if (state.igw.attached) await ec2.send(new DetachInternetGatewayCommand({InternetGatewayId: state.igw.id, VpcId: state.vpcId}))
      await ec2.send(new DeleteInternetGatewayCommand({InternetGatewayId: state.igw.id}))
    }
  },
}

async function describeNat(ec2: EC2Client, id: string): Promise<string | undefined> {
  const {NatGateways = []} = await ec2.send(new DescribeNatGatewaysCommand({NatGatewayIds: [id]}))
  return NatGateways[0]?.State
}
