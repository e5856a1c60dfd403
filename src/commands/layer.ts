import {Flags} from '@oclif/core'

import {functionFlags, waitFlags} from '../flags.js'
import {StepCommand} from '../step-command.js'

export default class Layer extends StepCommand<typeof Layer> {
  static override summary = 'Publish the prebuilt cache layer (Node and Python helpers) and attach it to the functions.'
  static override description =
    "The layer zip ships inside cct, built reproducibly: its SHA-256 is its version, so a new version is published only when the bundle changed (nothing happens otherwise). It is published as <stack>-cache-layer for nodejs22.x, nodejs24.x, python3.12 and python3.13 on x86_64 and arm64. On each function an older version of it is replaced in place; every other layer is kept, in order, within Lambda's limit of five."

  static override examples = [
    {description: "Publish and attach to the runbook's functions", command: '<%= config.bin %> layer'},
    {description: 'Publish only', command: '<%= config.bin %> layer --publish-only'},
  ]

  static override flags = {
    ...functionFlags,
    'publish-only': Flags.boolean({default: false, summary: 'Publish the layer; attach it to no function.'}),
    ...waitFlags,
  }

  protected get targets() {
    return this.flags['publish-only'] ? (['layer'] as const).slice() : (['layer', 'layer-attach'] as const).slice()
  }
}
