import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {isAwsError} from '../../src/aws/errors.js'

describe('isAwsError', () => {
  it('matches an SDK error by the name AWS gave it, among several names', () => {
    const error = Object.assign(new Error('not found'), {name: 'ReplicationGroupNotFoundFault'})
    assert.equal(isAwsError(error, 'ReplicationGroupNotFoundFault'), true)
    assert.equal(isAwsError(error, 'ResourceNotFoundException', 'ReplicationGroupNotFoundFault'), true)
    assert.equal(isAwsError(error, 'CacheClusterNotFoundFault'), false)
  })

  it('is false for what is not an error with a name', () => {
    for (const value of [undefined, null, 'ResourceNotFoundException', 42, {name: 7}])
      assert.equal(isAwsError(value, 'ResourceNotFoundException'), false)
  })
})
