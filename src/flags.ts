import {Flags} from '@oclif/core'

/** Where the stack's network is; shared by every command that needs the VPC. */
export const networkFlags = {
  'vpc-id': Flags.string({helpGroup: 'NETWORK', summary: 'Use this existing VPC instead of creating one; cct creates only what is missing in it.'}),
  'subnet-ids': Flags.string({helpGroup: 'NETWORK', summary: 'Use these existing subnets (comma-separated, two AZs or more).', delimiter: ',', multiple: true}),
  cidr: Flags.string({helpGroup: 'NETWORK', default: '10.0.0.0/16', summary: 'CIDR block of a new VPC.'}),
  'subnet-prefix': Flags.integer({helpGroup: 'NETWORK', default: 24, summary: 'Prefix length of each of the two subnets cct creates.'}),
}

export const waitFlags = {
  'wait-timeout': Flags.integer({helpGroup: 'GLOBAL', default: 1800, summary: 'Seconds a wait may take before cct stops (run again to resume).'}),
}
