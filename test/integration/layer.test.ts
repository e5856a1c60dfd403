import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda'

import {demoFunctionZip} from '../../sandbox/seed.js'
import {cli, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false})
const lambdaClient = () => new LambdaClient({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})

async function layersOf(name: string): Promise<string[]> {
  return ((await lambdaClient().send(new GetFunctionConfigurationCommand({FunctionName: name}))).Layers ?? []).map(
    (l) => l.Arn!,
  )
}

async function publishOther(name: string): Promise<string> {
  const {LayerVersionArn} = await lambdaClient().send(
    new PublishLayerVersionCommand({
      LayerName: name,
      Content: {ZipFile: demoFunctionZip()},
      CompatibleRuntimes: ['python3.12'],
    }),
  )
  return LayerVersionArn!
}

describe('cct layer', () => {
  it('publishes once: run twice, the second run makes zero mutating calls', async () => {
    const first = await runSteps(sandbox(), ['layer', 'layer-attach'])
    assert.equal(first.mutating.filter((c) => c.operation === 'PublishLayerVersion').length, 1)
    const again = await runSteps(sandbox(), ['layer', 'layer-attach'])
    assert.deepEqual(again.mutating, [])
    const {LayerVersions = []} = await lambdaClient().send(new ListLayerVersionsCommand({LayerName: 'cct-cache-layer'}))
    assert.equal(LayerVersions.length, 1)
    assert.deepEqual([...LayerVersions[0]!.CompatibleRuntimes!].sort(), [
      'nodejs22.x',
      'nodejs24.x',
      'python3.12',
      'python3.13',
    ])
  })

  it("keeps a function's own layers, in order, and appends the cache layer", async () => {
    const own = sandbox.seed().layerArn
    const extra = await publishOther('tracing')
    await lambdaClient().send(new UpdateFunctionConfigurationCommand({FunctionName: 'news-api', Layers: [extra, own]}))
    const {report} = await runSteps(sandbox(), ['layer', 'layer-attach'])
    const ours = (report.steps.find((s) => s.id === 'layer')!.output as {layerVersionArn: string}).layerVersionArn
    assert.deepEqual(await layersOf('news-api'), [extra, own, ours])
    assert.deepEqual(await layersOf('articles-api'), [own, ours])
  })

  it('replaces an older version of the cache layer in place', async () => {
    const own = sandbox.seed().layerArn
    const {LayerVersionArn: old} = await lambdaClient().send(
      new PublishLayerVersionCommand({
        LayerName: 'cct-cache-layer',
        Description: 'cct cache helper (ioredis, redis-py) sha256:0000',
        Content: {ZipFile: demoFunctionZip()},
      }),
    )
    const tail = await publishOther('tail')
    await lambdaClient().send(
      new UpdateFunctionConfigurationCommand({FunctionName: 'articles-api', Layers: [own, old!, tail]}),
    )
    const {report} = await runSteps(sandbox(), ['layer', 'layer-attach'], {functions: ['articles-api']})
    const ours = (report.steps.find((s) => s.id === 'layer')!.output as {layerVersionArn: string}).layerVersionArn
    assert.notEqual(ours, old)
    assert.deepEqual(await layersOf('articles-api'), [own, ours, tail])
  })

  it("refuses a function that would go over Lambda's five layers, before any change", async () => {
    const five = [sandbox.seed().layerArn]
    for (const name of ['l2', 'l3', 'l4', 'l5']) five.push(await publishOther(name))
    await lambdaClient().send(new UpdateFunctionConfigurationCommand({FunctionName: 'resources-api', Layers: five}))
    const result = await cli(['layer', '--functions', 'articles-api,resources-api'], sandbox().env)
    assert.equal(result.code, 5, result.stderr)
    assert.match(result.stderr, /resources-api already has 5 layers; Lambda allows 5\. Remove one of its layers/)
    assert.deepEqual(
      result.mutating.filter((c) => c.operation === 'UpdateFunctionConfiguration'),
      [],
    )
    assert.deepEqual(await layersOf('resources-api'), five)
  })
})
