import {autoCacheFlags, functionFlags, networkFlags, waitFlags} from '../flags.js'
import {StepCommand} from '../step-command.js'

export default class Env extends StepCommand<typeof Env> {
  static override summary = 'Set REDIS_HOST, REDIS_PORT and REDIS_TLS on the functions, keeping every other variable.'
  static override description =
    "Lambda replaces a function's whole environment on update, so cct reads it, merges the three variables in and writes it back with the RevisionId it read: a change someone makes meanwhile makes cct stop, not overwrite it. Functions whose values are already right are not touched."

  static override examples = [
    {description: 'Point the functions at the cache', command: '<%= config.bin %> env'},
    {description: 'See what would change', command: '<%= config.bin %> env --dry-run'},
  ]

  static override flags = {...functionFlags, ...autoCacheFlags, ...networkFlags, ...waitFlags}
  protected readonly targets = ['env' as const]
}
