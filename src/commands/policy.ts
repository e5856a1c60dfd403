import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import type {PolicyResult} from '../json/results.js'
import {policyDocument, policyStatements, POLICY_TARGETS, type PolicyDocument} from '../policy.js'

export default class Policy extends BaseCommand<typeof Policy> {
  static override summary = 'Print the IAM policy cct needs: for the whole flow, or for one command.'
  static override description = `The policy document (JSON) goes to stdout, ready for \`aws iam create-policy\`. Without an argument it covers every command (setup, plan, status, verify, cost, rollback and the step commands); name a command for only what that command calls. The actions come from a table in cct's code (src/policy.ts) that a test checks against every AWS call cct makes, and include those AWS checks besides the calls: tags on create, iam:PassRole for the probe, lambda:GetLayerVersion, and iam:CreateServiceLinkedRole (limited to elasticache.amazonaws.com) for the first cache in an account. Resources are "*": cct works on functions, roles and networks you name.

The whole-flow policy is larger than IAM allows inline on a user (2,048 characters): create it as a managed policy (6,144) and attach it. Talks to no AWS service.`

  static override examples = [
    {description: 'The policy for the whole flow', command: '<%= config.bin %> policy'},
    {description: 'Only what `cct verify` needs (read-only, and Invoke)', command: '<%= config.bin %> policy verify'},
    {
      description: 'Create it as a managed policy and attach it to a role',
      command:
        '<%= config.bin %> policy > cct-policy.json && aws iam create-policy --policy-name cct --policy-document file://cct-policy.json && aws iam attach-role-policy --role-name deployer --policy-arn arn:aws:iam::123456789012:policy/cct',
    },
    {description: 'Each statement with what it is for', command: '<%= config.bin %> policy rollback --json'},
  ]

  static override args = {
    command: Args.string({
      description: 'The command whose permissions to print (default: all of them).',
      options: [...POLICY_TARGETS],
      default: 'all',
    }),
  }

  override async run(): Promise<{command: string; document: PolicyDocument}> {
    const {args} = await this.parse(Policy)
    const document = policyDocument(args.command)
    if (!this.jsonEnabled()) this.log(JSON.stringify(document, null, 2))
    return {command: args.command, document}
  }

  protected override jsonResult(result: {command: string; document: PolicyDocument}): PolicyResult {
    return {
      for: result.command,
      document: result.document,
      statements: policyStatements(result.command).map(({spec, actions}) => ({
        sid: spec.sid,
        why: spec.why,
        actions,
        optional: spec.optional ?? null,
      })),
    }
  }
}
