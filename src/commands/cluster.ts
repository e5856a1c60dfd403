import {cacheFlags, networkFlags, waitFlags} from '../flags.js'
import {StepCommand} from '../step-command.js'

export default class Cluster extends StepCommand<typeof Cluster> {
  static override summary =
    'Create the cache: a replication group <stack>-cache, encrypted, in the cache subnet group and security group.'
  static override description =
    "A one-node replication group costs the same as a single cache cluster but has a primary endpoint, supports TLS and AUTH, and can grow replicas or shards later. The monthly cost is shown before anything is created. cct waits until the group is available and prints its endpoint; an existing group is reused and never recreated: what differs from the flags is reported, and only what AWS changes in place (security groups, replicas, shards) is changed. More --shards than one on a one-shard group moves it to cluster mode online, one way (compatible, the functions' helpers to the configuration endpoint, enabled, then the reshard): asked about first, --yes accepts."

  static override examples = [
    {description: 'Create the default cache (redis 7.1, cache.t3.micro, TLS on)', command: '<%= config.bin %> cluster'},
    {
      description: 'A cheaper Valkey cache on Graviton',
      command: '<%= config.bin %> cluster --engine valkey --node-type cache.t4g.micro',
    },
    {
      description: 'A replica in the second AZ with automatic failover',
      command: '<%= config.bin %> cluster --replicas 1',
    },
    {
      description: 'Grow a one-shard cache to three shards online (one-way: cluster mode)',
      command: '<%= config.bin %> cluster --shards 3 --replicas 1 --yes',
    },
  ]

  static override flags = {...cacheFlags, ...networkFlags, ...waitFlags}
  protected readonly targets = ['cluster' as const]
}
