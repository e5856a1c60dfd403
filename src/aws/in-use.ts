import {DeleteSubnetCommand, DescribeNetworkInterfacesCommand, type EC2Client} from '@aws-sdk/client-ec2'

import type {StepContext} from '../engine/step.js'
import {waitUntil} from './wait.js'
import {isAwsError} from './errors.js'

export interface DeleteWhenFree {
  what: string
  remove: () => Promise<unknown>
  /** The error AWS answers while something still uses the resource. */
  busyError: string
  /** What uses it now, for the progress line. */
  status: () => Promise<string>
  resume: string
  estimate?: string
}

/**
 * Deletes something AWS refuses to delete while it is in use, retrying until it is free:
 * a subnet or security group while Lambda's ENIs linger after VpcConfig is removed (AWS
 * says up to 20 minutes, users report 40+), a cache subnet group while its replication
 * group is still deleting. "In use" means wait, not fail.
 */
export async function deleteWhenFree(
  ctx: Pick<StepContext, 'progress' | 'signal' | 'options'>,
  request: DeleteWhenFree,
): Promise<void> {
  await waitUntil(
    ctx,
    `${request.what} to be free`,
    async () => {
      try {
        await request.remove()
        return {done: true, status: 'deleted'}
      } catch (error) {
        if (!isAwsError(error, request.busyError)) throw error
        return {done: false, status: await request.status()}
      }
    },
    request.resume,
    request.estimate,
  )
}

/** Status line for a subnet or group held by network interfaces. */
export function interfacesStatus(count: number): string {
  return `${count} network interface${count === 1 ? '' : 's'} still attached`
}

export const ENI_ESTIMATE = 'Lambda releases its interfaces in 20-40 minutes'

/** Deletes a subnet cct created, waiting while network interfaces (Lambda's, a NAT's) still hold it. */
export async function deleteSubnetWhenFree(
  ec2: EC2Client,
  ctx: Pick<StepContext, 'progress' | 'signal' | 'options'>,
  subnetId: string,
): Promise<void> {
  await deleteWhenFree(ctx, {
    what: `subnet ${subnetId}`,
    remove: () => ec2.send(new DeleteSubnetCommand({SubnetId: subnetId})),
    busyError: 'DependencyViolation',
    status: async () =>
      interfacesStatus(
        (await ec2.send(new DescribeNetworkInterfacesCommand({Filters: [{Name: 'subnet-id', Values: [subnetId]}]})))
          .NetworkInterfaces?.length ?? 0,
      ),
    resume: 'cct rollback',
    estimate: ENI_ESTIMATE,
  })
}
