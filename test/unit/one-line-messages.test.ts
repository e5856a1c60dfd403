/** Issue #12, item 13: what the SDK and oclif say reaches the user as one line, with its reason. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {oneLine} from '../../src/aws/clients.js'
import {parserMessage} from '../../src/base-command.js'

describe('one-line messages', () => {
  it("the SDK's nine-line credential warning is one line, its advice kept", () => {
    const warning = `@aws-sdk/credential-provider-node - defaultProvider::fromEnv WARNING:
    Multiple credential sources detected: 
    Both AWS_PROFILE and the pair AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY static credentials are set.
    This SDK will proceed with the AWS_PROFILE value.
    
    However, a future version may change this behavior to prefer the ENV static credentials.
    Please ensure that your environment only sets either the AWS_PROFILE or the
    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY pair.
`
    assert.equal(
      oneLine(warning),
      'Multiple credential sources detected: Both AWS_PROFILE and the pair AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY static credentials are set. This SDK will proceed with the AWS_PROFILE value.',
    )
  })

  it("oclif's parser errors keep their reason", () => {
    assert.equal(
      parserMessage('Parsing --replicas \n\tExpected an integer but received: two\nSee more help with --help'),
      '--replicas: Expected an integer but received: two',
    )
    assert.equal(parserMessage('Nonexistent flag: --cidrs\nSee more help with --help'), 'Nonexistent flag: --cidrs')
    assert.equal(
      parserMessage(
        'The following error occurred:\n  All of the following must be provided when using --event: --traffic\nSee more help with --help',
      ),
      'All of the following must be provided when using --event: --traffic',
    )
  })
})
