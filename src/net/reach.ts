/**
 * What a function loses when it moves into a VPC without a NAT gateway: the internet and every
 * AWS service but DynamoDB and S3 (cct's gateway endpoints). Read from its environment: URLs
 * (http, https), AWS service hostnames and ARNs. A NAT route, or an interface endpoint for the
 * service, keeps it.
 */

/** One variable whose value needs a network path the VPC will not have. */
export interface Loss {
  variable: string
  /** The host (news.example.com) or the AWS service (sqs) it needs. */
  reaches: string
  /** Set when it is an AWS service (an interface endpoint would keep it). */
  service?: string
}

/** Reached through the gateway endpoints cct puts on the route table. */
const GATEWAY_SERVICES = new Set(['dynamodb', 's3'])
/** cct's own variables: the cache is in the VPC. */
const CCT_VARIABLE = /^(REDIS_|CCT_|AWS_LAMBDA_EXEC_WRAPPER$)/
const URL_HOST = /\bhttps?:\/\/([^/\s:?#'"]+)/gi
const AWS_HOST = /\b((?:[a-z0-9-]+\.)+amazonaws\.com)\b/gi
const ARN = /\barn:aws[a-z-]*:([a-z0-9-]+):/gi

/** The AWS service a hostname of amazonaws.com names (sqs.us-east-1.amazonaws.com: sqs; bucket.s3.amazonaws.com: s3). */
export function serviceOfHost(host: string): string | undefined {
  const labels = host
    .toLowerCase()
    .replace(/\.amazonaws\.com$/, '')
    .split('.')
  if (labels.length === 0 || host.toLowerCase() === labels.join('.')) return undefined
  if (labels.includes('s3') || labels.some((l) => l.startsWith('s3-'))) return 's3'
  if (labels.includes('execute-api')) return 'execute-api'
  return labels[0]
}

/** Hosts a function inside a VPC still reaches: private names and addresses. */
function isPrivate(host: string): boolean {
  return (
    /^(localhost|127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)/.test(host) ||
    /\.(internal|local|localdomain)$/.test(host)
  )
}

/** What the function's environment needs that a VPC without NAT does not give, one per variable and host. */
export function envNeeds(env: Record<string, string>): Loss[] {
  const out: Loss[] = []
  for (const [variable, value] of Object.entries(env)) {
    if (CCT_VARIABLE.test(variable)) continue
    const seen = new Set<string>()
    const add = (loss: Loss) => {
      const key = loss.service ?? loss.reaches
      if (seen.has(key)) return
      seen.add(key)
      out.push(loss)
    }
    for (const [, host] of value.matchAll(URL_HOST)) {
      const service = /\.amazonaws\.com$/i.test(host!) ? serviceOfHost(host!) : undefined
      if (service ? GATEWAY_SERVICES.has(service) : isPrivate(host!)) continue
      add({variable, reaches: service ?? host!.toLowerCase(), ...(service ? {service} : {})})
    }
    for (const [, host] of value.matchAll(AWS_HOST)) {
      const service = serviceOfHost(host!)
      if (!service || GATEWAY_SERVICES.has(service)) continue
      add({variable, reaches: service, service})
    }
    for (const [, service] of value.matchAll(ARN)) {
      const name = service!.toLowerCase()
      // An ElastiCache ARN is the cache itself, inside the VPC.
      if (GATEWAY_SERVICES.has(name) || name === 'elasticache') continue
      add({variable, reaches: name, service: name})
    }
  }
  return out
}

/** What the VPC's route tables and endpoints already give the subnets. */
export interface VpcReach {
  /** A default route to a NAT gateway (or another way out: an instance, a transit gateway). */
  internet: boolean
  /** AWS services with an interface endpoint in the VPC (sqs, secretsmanager, ...). */
  endpoints: string[]
}

/** The losses a VPC with `reach` leaves: none with an internet route; AWS services with an endpoint are kept. */
export function lossesIn(needs: Loss[], reach: VpcReach): Loss[] {
  if (reach.internet) return []
  return needs.filter((n) => !(n.service && reach.endpoints.includes(n.service)))
}

/** "NEWS_FEED_URL (news.example.com)" */
export function describeLosses(losses: Loss[]): string {
  return losses.map((l) => `${l.variable} (${l.reaches})`).join(', ')
}
