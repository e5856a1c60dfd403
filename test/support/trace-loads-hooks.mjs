import {appendFileSync} from 'node:fs'

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  if (process.env.CCT_TRACE_LOADS) appendFileSync(process.env.CCT_TRACE_LOADS, `${result.url}\n`)
  return result
}
