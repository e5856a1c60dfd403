import {Flags} from '@oclif/core'

/** Where the stack's network is; shared by every command that needs the VPC. */
export const networkFlags = {
  'vpc-id': Flags.string({
    helpGroup: 'NETWORK',
    summary: 'Use this existing VPC instead of creating one; cct creates only what is missing in it.',
  }),
  'subnet-ids': Flags.string({
    helpGroup: 'NETWORK',
    summary: 'Use these existing subnets (comma-separated, two AZs or more).',
    delimiter: ',',
    multiple: true,
  }),
  cidr: Flags.string({helpGroup: 'NETWORK', summary: 'CIDR block of a new VPC (default 10.0.0.0/16).'}),
  nat: Flags.boolean({
    helpGroup: 'NETWORK',
    summary:
      'Also create a NAT gateway, for functions that call other internet services (about $33/month + $0.045/GB).',
  }),
  'subnet-prefix': Flags.integer({
    helpGroup: 'NETWORK',
    summary: 'Prefix length of each of the two subnets cct creates (default 24).',
  }),
}

export const waitFlags = {
  'wait-timeout': Flags.integer({
    helpGroup: 'GLOBAL',
    summary: 'Seconds a wait may take before cct stops (default 1800; run again to resume).',
  }),
}

export const cacheFlags = {
  engine: Flags.string({
    helpGroup: 'CACHE',
    options: ['redis', 'valkey'],
    summary: 'Cache engine (default redis); valkey is about 20% cheaper and works with the same clients.',
  }),
  'engine-version': Flags.string({helpGroup: 'CACHE', summary: 'Engine version (default: redis 7.1, valkey 8.0).'}),
  'node-type': Flags.string({
    helpGroup: 'CACHE',
    summary: 'Node type (default cache.t3.micro; cache.t4g.micro is cheaper).',
  }),
  replicas: Flags.integer({
    helpGroup: 'CACHE',
    summary: 'Read replicas (default 0; per shard with --shards); 1 or more turns on Multi-AZ automatic failover.',
  }),
  shards: Flags.integer({
    helpGroup: 'CACHE',
    summary:
      'Shards (default 1). More than 1 makes a cluster-mode-enabled group (each shard has 1 + --replicas nodes, each billed); changing it later reshards online.',
  }),
  serverless: Flags.boolean({
    helpGroup: 'CACHE',
    summary:
      'ElastiCache Serverless instead of a replication group: no node type, shards or replicas; always TLS and cluster mode; billed per GB-hour stored (at least 100 MB Valkey, 1 GB Redis) and per million ECPUs.',
  }),
  'max-data-gb': Flags.integer({
    helpGroup: 'CACHE',
    summary: 'With --serverless: the most data the cache may hold, in GB (1-5000); caps the storage bill.',
  }),
  'max-ecpu': Flags.integer({
    helpGroup: 'CACHE',
    summary: 'With --serverless: the most ECPUs per second (1000-15000000); beyond it commands are throttled.',
  }),
  tls: Flags.boolean({
    helpGroup: 'CACHE',
    allowNo: true,
    summary: 'In-transit encryption (on by default; --no-tls turns it off; at rest is always on).',
  }),
}

/** Zero-code caching; no flag and no cct.json answer means off (a script never opts in silently). */
export const autoCacheFlags = {
  'auto-cache': Flags.boolean({
    helpGroup: 'FUNCTIONS',
    allowNo: true,
    summary:
      "Cache DynamoDB reads without code changes (the layer's exec wrapper); --no-auto-cache turns it off. See the README's consistency contract.",
  }),
}

export const functionFlags = {
  functions: Flags.string({
    helpGroup: 'FUNCTIONS',
    delimiter: ',',
    multiple: true,
    summary: "Functions to work on (comma-separated); default: the runbook's five that exist.",
  }),
}
