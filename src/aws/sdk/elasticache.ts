export {ElastiCacheClient} from '@aws-sdk/client-elasticache'
