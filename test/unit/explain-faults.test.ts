/**
 * Issue #12 item 14: persistent 5xx answers and exhausted throttling retries are explained
 * (the call, what came back, that a re-run resumes) with exit code 6, not `Unknown: Unknown`.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ExitCode, explainAwsError} from '../../src/errors.js'

const sdkError = (name: string, message: string, status: number, extra: object = {}) =>
  Object.assign(new Error(message), {name, $metadata: {httpStatusCode: status, attempts: 4}, ...extra})

describe('faults past every retry', () => {
  it('an HTML 500 names the call, says HTML and that a re-run resumes', () => {
    const e = explainAwsError(
      sdkError('Unknown', 'Unknown', 500, {$response: {headers: {'content-type': 'text/html'}}}),
      'ec2:CreateVpc',
    )
    assert.equal(e.exitCode, ExitCode.Timeout)
    assert.doesNotMatch(e.line, /Unknown: Unknown/)
    assert.match(
      e.line,
      /^AWS answered ec2:CreateVpc with HTTP 500 with an HTML page, not an AWS error \(4 attempts\)\./,
    )
    assert.match(e.line, /run the same command again in a few minutes; it resumes where it stopped/)
  })

  it('a 503 without an AWS error document says so', () => {
    const e = explainAwsError(sdkError('Unknown', 'UnknownError', 503), 'lambda:TagResource')
    assert.match(e.line, /^AWS answered lambda:TagResource with HTTP 503 with no AWS error in the answer/)
  })

  it('throttling past the retries says a re-run resumes, exit 6', () => {
    const e = explainAwsError(sdkError('ThrottlingException', 'Rate exceeded', 400), 'iam:TagRole')
    assert.equal(e.exitCode, ExitCode.Timeout)
    assert.match(
      e.line,
      /^AWS kept throttling iam:TagRole \(4 attempts\)\. .*run the same command again in a minute; it resumes/,
    )
  })

  it('an AWS error with a 4xx stays as AWS said it', () => {
    const e = explainAwsError(sdkError('InvalidParameterValue', 'bad cidr', 400), 'ec2:CreateVpc')
    assert.equal(e.exitCode, ExitCode.Failure)
    assert.equal(e.line, 'ec2:CreateVpc failed: InvalidParameterValue: bad cidr')
  })
})
