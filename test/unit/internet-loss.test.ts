import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {envNeeds, lossesIn, serviceOfHost} from '../../src/net/reach.js'
import {lossChoice, LOSS_QUESTION, lossRefusal} from '../../src/ui/internet-loss.js'

describe('what a function loses in a VPC without NAT', () => {
  it('finds URLs, AWS hostnames and ARNs; DynamoDB, S3, private hosts and cct variables are kept', () => {
    const env = {
      NEWS_FEED_URL: 'https://news.example.com/feed.xml',
      QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs',
      TOPIC: 'arn:aws:sns:us-east-1:123456789012:alerts',
      TABLE_ARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/news',
      BUCKET_URL: 'https://cct-demo.s3.amazonaws.com/x',
      DDB: 'https://dynamodb.us-east-1.amazonaws.com',
      INTERNAL: 'http://10.0.1.5:8080/api',
      REDIS_HOST: 'master.cct.cache.amazonaws.com',
      TABLE_NAME: 'news',
    }
    assert.deepEqual(envNeeds(env), [
      {variable: 'NEWS_FEED_URL', reaches: 'news.example.com'},
      {variable: 'QUEUE_URL', reaches: 'sqs', service: 'sqs'},
      {variable: 'TOPIC', reaches: 'sns', service: 'sns'},
    ])
    assert.equal(serviceOfHost('bucket.s3.us-east-1.amazonaws.com'), 's3')
    assert.equal(serviceOfHost('secretsmanager.eu-west-1.amazonaws.com'), 'secretsmanager')
  })

  it('a NAT route keeps everything; an interface endpoint keeps its service', () => {
    const needs = envNeeds({A: 'https://news.example.com', Q: 'https://sqs.us-east-1.amazonaws.com/1/q'})
    assert.deepEqual(lossesIn(needs, {internet: true, endpoints: []}), [])
    assert.deepEqual(lossesIn(needs, {internet: false, endpoints: ['sqs']}), [
      {variable: 'A', reaches: 'news.example.com'},
    ])
  })

  it('asks with what is lost and the fix; refuses in one line naming the function, the variable and --nat', () => {
    const loss = {
      functionName: 'news-api',
      loses: [
        {variable: 'NEWS_FEED_URL', reaches: 'news.example.com'},
        {variable: 'Q', reaches: 'sqs', service: 'sqs'},
      ],
    }
    assert.equal(lossChoice(loss), 'news-api  loses the internet (news.example.com) and AWS sqs: NEWS_FEED_URL, Q')
    assert.ok(LOSS_QUESTION.length + 2 <= 100, 'the question fits the 100-column setup screen')
    const error = lossRefusal([loss])
    assert.equal(error.exitCode, 2)
    assert.doesNotMatch(error.line, /\n/)
    assert.match(error.line, /news-api would lose NEWS_FEED_URL \(news\.example\.com\).*Pass --nat/)
  })
})
