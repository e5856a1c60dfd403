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

export const cacheFlags = {
  engine: Flags.string({helpGroup: 'CACHE', options: ['redis', 'valkey'], default: 'redis', summary: 'Cache engine; valkey is about 20% cheaper and works with the same clients.'}),
  'engine-version': Flags.string({helpGroup: 'CACHE', summary: 'Engine version (default: redis 7.1, valkey 8.0).'}),
  'node-type': Flags.string({helpGroup: 'CACHE', default: 'cache.t3.micro', summary: 'Node type (cache.t4g.micro is cheaper than cache.t3.micro).'}),
  replicas: Flags.integer({helpGroup: 'CACHE', default: 0, summary: 'Read replicas; 1 or more turns on Multi-AZ automatic failover.'}),
  tls: Flags.boolean({helpGroup: 'CACHE', default: true, allowNo: true, summary: 'In-transit encryption (--no-tls turns it off; at rest is always on).'}),
}

export const functionFlags = {
  functions: Flags.string({helpGroup: 'FUNCTIONS', delimiter: ',', multiple: true, summary: "Functions to work on (comma-separated); default: the runbook's five that exist."}),
}
