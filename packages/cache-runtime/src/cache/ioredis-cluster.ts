/**
 * ioredis' Cluster, loaded only by a sharded cache (REDIS_CLUSTER=true). The layer ships it
 * as a file of its own next to the helper, so a function on a single-shard cache never
 * parses the cluster client at init (see scripts/layer/bundle-node.ts).
 */
export {Cluster} from 'ioredis'
