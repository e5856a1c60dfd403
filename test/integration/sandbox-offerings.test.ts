/**
 * sandbox/fidelity/elasticache_offerings.py: what ElastiCache offers, which moto neither
 * lists nor checks (moto creates a group of any node type and version).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  CreateReplicationGroupCommand,
  DescribeCacheEngineVersionsCommand,
  DescribeReservedCacheNodesOfferingsCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache'

import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})
const client = () => new ElastiCacheClient({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})

describe('ElastiCache offerings in the sandbox', () => {
  it('DescribeCacheEngineVersions lists versions per engine; an unknown version is an empty list, not an error', async () => {
    const redis = await client().send(new DescribeCacheEngineVersionsCommand({Engine: 'redis'}))
    assert.ok(
      redis.CacheEngineVersions!.some((v) => v.EngineVersion === '7.1' && v.CacheParameterGroupFamily === 'redis7'),
    )
    const valkey = await client().send(new DescribeCacheEngineVersionsCommand({Engine: 'valkey', DefaultOnly: true}))
    assert.deepEqual(
      valkey.CacheEngineVersions!.map((v) => v.EngineVersion),
      ['8.0'],
    )
    const none = await client().send(new DescribeCacheEngineVersionsCommand({Engine: 'redis', EngineVersion: '99.9'}))
    assert.deepEqual(none.CacheEngineVersions, [])
  })

  it('DescribeReservedCacheNodesOfferings has offerings for current node types only', async () => {
    const micro = await client().send(new DescribeReservedCacheNodesOfferingsCommand({CacheNodeType: 'cache.t3.micro'}))
    assert.ok(micro.ReservedCacheNodesOfferings!.length > 0)
    assert.ok(micro.ReservedCacheNodesOfferings!.every((o) => o.CacheNodeType === 'cache.t3.micro'))
    for (const type of ['cache.t3.mirco', 'cache.t2.micro']) {
      const none = await client().send(new DescribeReservedCacheNodesOfferingsCommand({CacheNodeType: type}))
      assert.deepEqual(none.ReservedCacheNodesOfferings, [], type)
    }
  })

  it('CreateReplicationGroup refuses a node type or an engine version AWS does not offer', async () => {
    const create = (nodeType: string, version: string) =>
      client().send(
        new CreateReplicationGroupCommand({
          ReplicationGroupId: 'x-cache',
          ReplicationGroupDescription: 'x',
          Engine: 'redis',
          EngineVersion: version,
          CacheNodeType: nodeType,
          NumCacheClusters: 1,
        }),
      )
    await assert.rejects(
      create('cache.t3.mirco', '7.1'),
      (e: Error) => /^InvalidParameterValue/.test(e.name) && /cache\.t3\.mirco/.test(e.message),
    )
    await assert.rejects(
      create('cache.t3.micro', '99.9'),
      (e: Error) =>
        /^InvalidParameterCombination/.test(e.name) && /Cannot find version 99\.9 for redis/.test(e.message),
    )
  })
})
