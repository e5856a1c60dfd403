import {
  DeleteLayerVersionCommand,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  type LambdaClient,
  type LayerVersionsListItem,
} from '@aws-sdk/client-lambda'

import {operations, pending, type Step} from '../engine/step.js'
import {layerTargets, loadBundle, type LayerBundle} from '../layer-bundle.js'
import {createOnce} from '../aws/create-once.js'
import {isAwsError} from '../aws/errors.js'

export interface LayerOutput {
  /** The versioned ARN functions attach. */
  layerVersionArn: string
  /** The unversioned ARN: every version of cct's layer starts with it. */
  layerArn: string
}

declare module '../engine/step.js' {
  interface StepOutputs {
    layer: LayerOutput
  }
}

export const layerName = (stack: string) => `${stack}-cache-layer`

/** Layers cannot be tagged; cct marks its versions by name and by this description prefix. */
const DESCRIPTION = 'cct cache helper (ioredis, redis-py) sha256:'

export interface LayerState {
  bundle: LayerBundle
  latest?: LayerVersionsListItem
  /** Every version cct published, for rollback. */
  ours: LayerVersionsListItem[]
  layerArn?: string
}

export type LayerOp = {kind: 'publish-layer-version'; sha256: string} | {kind: 'delete-layer-version'; version: number}

export const layerStep: Step<'layer', LayerState, LayerOp> = {
  id: 'layer',
  title: 'Cache layer (publish)',
  needs: [],
  command: 'cct layer',

  async inspect(ctx) {
    const lambda = await ctx.aws.lambda()
    const [bundle, versions] = await Promise.all([loadBundle(), listVersions(lambda, layerName(ctx.stack))])
    const ours = versions.filter((v) => v.Description?.startsWith(DESCRIPTION))
    const latest = ours.sort((a, b) => (b.Version ?? 0) - (a.Version ?? 0))[0]
    return {bundle, latest, ours, layerArn: latest?.LayerVersionArn?.replace(/:\d+$/, '')}
  },

  plan(state, ctx) {
    if (state.latest?.Description === `${DESCRIPTION}${state.bundle.sha256}`) return []
    const detail = `${state.latest ? `published version ${state.latest.Version} is not this build; ` : ''}${(state.bundle.size / 1024).toFixed(0)} KB, sha256 ${state.bundle.sha256.slice(0, 12)}…, ${layerTargets().runtimes.join(' ')}`
    return [
      {
        action: 'create',
        resource: 'layer-version',
        name: layerName(ctx.stack),
        detail,
        op: {kind: 'publish-layer-version', sha256: state.bundle.sha256},
      },
    ]
  },

  resources(state, ctx) {
    return state.latest ? [{resource: 'layer-version', name: layerName(ctx.stack)}] : []
  },

  output(state, ctx) {
    const current = state.latest?.Description === `${DESCRIPTION}${state.bundle.sha256}` ? state.latest : undefined
    return {
      layerVersionArn: current?.LayerVersionArn ?? pending(layerName(ctx.stack)),
      // Not the version's pending id: a run learns each real id by the pending id that stood for it.
      layerArn: state.layerArn ?? pending(`${layerName(ctx.stack)} (all versions)`),
    }
  },

  async apply(state, plan, ctx) {
    const [op, ...more] = operations(plan)
    if (op?.kind !== 'publish-layer-version' || more.length)
      throw new Error('layer apply publishes one version, nothing else')
    // The bundle inspect read is the one the plan described.
    if (op.sha256 !== state.bundle.sha256) throw new Error('the layer bundle changed between plan and apply')
    const lambda = await ctx.aws.lambda()
    const lambdaOnce = await ctx.aws.lambdaOnce()
    ctx.progress(`publishing ${(state.bundle.size / 1024).toFixed(0)} KB`)
    const description = `${DESCRIPTION}${state.bundle.sha256}`
    // A publish whose reply was lost made a version, and sent again it would make another:
    // before a retry, a version of this build newer than the latest inspect saw is the answer.
    const published = await createOnce<{LayerVersionArn?: string; LayerArn?: string}>(
      () =>
        lambdaOnce.send(
          new PublishLayerVersionCommand({
            LayerName: layerName(ctx.stack),
            Description: description,
            Content: {ZipFile: state.bundle.zip},
            CompatibleRuntimes: layerTargets().runtimes as never,
            CompatibleArchitectures: layerTargets().architectures as never,
            LicenseInfo: 'MIT',
          }),
        ),
      async () => {
        const versions = await listVersions(lambda, layerName(ctx.stack))
        const made = versions.find(
          (v) => v.Description === description && (v.Version ?? 0) > (state.latest?.Version ?? 0),
        )
        return made && {LayerVersionArn: made.LayerVersionArn, LayerArn: made.LayerVersionArn!.replace(/:\d+$/, '')}
      },
    )
    return {layerVersionArn: published.LayerVersionArn!, layerArn: published.LayerArn!}
  },

  destroyPlan(state, ctx) {
    return state.ours.map((v) => ({
      action: 'delete',
      resource: 'layer-version',
      name: `${layerName(ctx.stack)}:${v.Version}`,
      op: {kind: 'delete-layer-version', version: v.Version!},
    }))
  },

  async destroy(_state, plan, ctx) {
    const lambda = await ctx.aws.lambda()
    for (const op of operations(plan)) {
      if (op.kind !== 'delete-layer-version')
        throw new Error(`layer destroy was given ${op.kind}, which only apply performs`)
      await lambda.send(new DeleteLayerVersionCommand({LayerName: layerName(ctx.stack), VersionNumber: op.version}))
    }
  },
}

async function listVersions(lambda: LambdaClient, name: string): Promise<LayerVersionsListItem[]> {
  const versions: LayerVersionsListItem[] = []
  let Marker: string | undefined
  try {
    do {
      const page = await lambda.send(new ListLayerVersionsCommand({LayerName: name, Marker}))
      versions.push(...(page.LayerVersions ?? []))
      Marker = page.NextMarker
    } while (Marker)
  } catch (error) {
    if (!isAwsError(error, 'ResourceNotFoundException')) throw error
  }
  return versions
}
