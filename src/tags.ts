/** How cct marks what it owns, and finds it again from any machine (no state file). */
export const MANAGED_BY_KEY = 'ManagedBy'
export const MANAGED_BY_VALUE = 'cct'
export const STACK_KEY = 'cct:stack'

export interface Tag {
  Key: string
  Value: string
}

export function stackTags(stack: string, name: string): Tag[] {
  return [
    {Key: MANAGED_BY_KEY, Value: MANAGED_BY_VALUE},
    {Key: STACK_KEY, Value: stack},
    {Key: 'Name', Value: name},
  ]
}

export function hasStackTags(tags: ReadonlyArray<{Key?: string; Value?: string}> | undefined, stack: string): boolean {
  const map = tagMap(tags)
  return map.get(MANAGED_BY_KEY) === MANAGED_BY_VALUE && map.get(STACK_KEY) === stack
}

export function tagMap(tags: ReadonlyArray<{Key?: string; Value?: string}> | undefined): Map<string, string> {
  const map = new Map<string, string>()
  for (const t of tags ?? []) if (t.Key !== undefined) map.set(t.Key, t.Value ?? '')
  return map
}

/** EC2 Describe* filters that select the resources of one stack. */
export function stackFilters(stack: string): {Name: string; Values: string[]}[] {
  return [
    {Name: `tag:${MANAGED_BY_KEY}`, Values: [MANAGED_BY_VALUE]},
    {Name: `tag:${STACK_KEY}`, Values: [stack]},
  ]
}

/** EC2 Describe* filters that select the one resource of a stack by its Name tag. */
export function nameFilters(stack: string, name: string): {Name: string; Values: string[]}[] {
  return [...stackFilters(stack), {Name: 'tag:Name', Values: [name]}]
}

/** Marks cct's public-side network (NAT), which the private steps must not mistake for theirs. */
export const ROLE_KEY = 'cct:role'

export function isPublicSide(tags: ReadonlyArray<{Key?: string; Value?: string}> | undefined): boolean {
  return tagMap(tags).get(ROLE_KEY) === 'public'
}
