import {usageError} from './errors.js'

/**
 * The stack prefixes every name; the tightest AWS rule is the replication group id
 * (`<stack>-cache`: 40 characters, lowercase letters, digits, single hyphens, starts with
 * a letter), so the stack follows that rule with room for the suffix.
 */
export const STACK_PATTERN = /^[a-z](?:[a-z0-9]|-(?!-))*$/
export const STACK_MAX = 30

/** `source` names where a value other than --stack came from (`cct.json "stack"`). */
export function validateStackName(stack: string, source?: string): string {
  if (stack.length === 0 || stack.length > STACK_MAX || !STACK_PATTERN.test(stack) || stack.endsWith('-')) {
    throw usageError(
      `Stack name "${stack}"${source ? ` (${source})` : ''} cannot be used in AWS resource names`,
      `Use 1-${STACK_MAX} lowercase letters, digits and single hyphens, starting with a letter (e.g. cct or shop-prod)`,
    )
  }
  return stack
}
