/**
 * Errors a user can act on. Each carries the exit code documented in `cct --help`
 * and a hint: the next thing to run or change. Everything else is a bug (exit 1).
 */
export const ExitCode = {
  /** An unexpected failure: a bug or an AWS error cct does not know. */
  Failure: 1,
  /** Bad input: a flag, a config file, a name, a CIDR, a function that does not exist. */
  Usage: 2,
  /** No usable AWS credentials or region. */
  Credentials: 3,
  /** AWS refused an action (AccessDenied): the message names the IAM action. */
  Permission: 4,
  /** The account is not in a state cct can converge from (a conflict, a resource in use). */
  Conflict: 5,
  /** A wait ran out of time, or AWS kept throttling or failing (5xx) past every retry; running the same command again resumes. */
  Timeout: 6,
  /** `cct verify` found something not in place or not answering. */
  Verification: 7,
  /** `cct status` found a resource missing or different from what is asked. */
  Drift: 8,
  /** Interrupted (Ctrl-C). */
  Interrupted: 130,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export const EXIT_CODE_HELP: ReadonlyArray<[number, string]> = [
  [0, 'success (or nothing to do)'],
  [ExitCode.Failure, 'unexpected failure (set DEBUG=cct for details)'],
  [
    ExitCode.Usage,
    'bad input: a flag, name, CIDR, id, function, node type or engine version that cannot be used; nothing was changed',
  ],
  [ExitCode.Credentials, 'no usable AWS credentials or region, or a profile that does not exist'],
  [ExitCode.Permission, 'AWS denied an action; the message names the IAM action to grant'],
  [ExitCode.Conflict, 'the account is in a state cct will not change on its own (read the hint)'],
  [
    ExitCode.Timeout,
    'a wait timed out, or AWS kept throttling or failing (HTTP 5xx) past every retry; run the same command again to resume',
  ],
  [ExitCode.Verification, 'cct verify: a check failed (the table says which)'],
  [ExitCode.Drift, 'cct status: something is missing or drifted (the table says what and how)'],
  [
    ExitCode.Interrupted,
    'interrupted (Ctrl-C, SIGTERM) or cancelled; what was created is tagged and the same command resumes',
  ],
]

export class CctError extends Error {
  readonly exitCode: ExitCodeValue
  readonly hint?: string

  constructor(message: string, options: {exitCode?: ExitCodeValue; hint?: string; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = 'CctError'
    this.exitCode = options.exitCode ?? ExitCode.Failure
    this.hint = options.hint
  }

  /** The one line a user sees. */
  get line(): string {
    return this.hint ? `${this.message}. ${this.hint}` : this.message
  }
}

export function usageError(message: string, hint?: string): CctError {
  return new CctError(message, {exitCode: ExitCode.Usage, hint})
}

export function conflictError(message: string, hint?: string): CctError {
  return new CctError(message, {exitCode: ExitCode.Conflict, hint})
}

interface AwsLikeError {
  name?: string
  Code?: string
  code?: string
  message?: string
  $metadata?: {httpStatusCode?: number; attempts?: number}
  $response?: {headers?: Record<string, string>; body?: unknown}
  $responseBodyText?: string
}

const THROTTLED =
  /^(Throttling|ThrottlingException|ThrottledException|RequestLimitExceeded|TooManyRequestsException|RequestThrottled|RequestThrottledException|SlowDown|PriorRequestNotComplete|BandwidthLimitExceeded|ProvisionedThroughputExceededException|LimitExceededException)$/

/** The answer was an HTML page (a proxy's or load balancer's), not an AWS error document. */
function isHtml(err: AwsLikeError): boolean {
  const type = Object.entries(err.$response?.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1]
  return /html/i.test(type ?? '') || /<html|<!doctype html/i.test(`${err.$responseBodyText ?? ''} ${err.message ?? ''}`)
}

const DENIED = /^(AccessDenied|AccessDeniedException|UnauthorizedOperation|AuthorizationError|Forbidden)$/
const BAD_CREDENTIALS =
  /^(UnrecognizedClientException|InvalidClientTokenId|ExpiredToken|ExpiredTokenException|AuthFailure|SignatureDoesNotMatch|InvalidSignatureException|CredentialsProviderError|TokenProviderError)$/

/**
 * Turns an SDK or network error into a CctError a user can act on.
 * `action` is the IAM action of the call that failed (e.g. `ec2:CreateVpc`), used when
 * AWS's message does not name it.
 */
export function explainAwsError(error: unknown, action?: string): CctError {
  if (error instanceof CctError) return error
  const err = (error ?? {}) as AwsLikeError & {cctAction?: string}
  action ??= err.cctAction
  const name = err.name ?? err.Code ?? err.code ?? 'Error'
  const message = firstLine(err.message ?? String(error))
  if (DENIED.test(name)) {
    const refused = /perform: ([\w-]+:\w+)/.exec(message)?.[1] ?? action ?? 'the requested action'
    return new CctError(`AWS denied ${refused}`, {
      exitCode: ExitCode.Permission,
      hint: `Grant ${refused} to the identity cct runs as, then run the same command again`,
      cause: error,
    })
  }
  if (BAD_CREDENTIALS.test(name) || /Could not load credentials|credential/i.test(name)) {
    const missing = name === 'CredentialsProviderError' || /Could not load credentials/.test(message)
    return new CctError(
      missing ? 'No AWS credentials found' : `AWS credentials were not accepted (${name}: ${message})`,
      {
        exitCode: ExitCode.Credentials,
        hint: 'Run `aws sso login` or `aws configure`, or pass --profile',
        cause: error,
      },
    )
  }
  if (name === 'TimeoutError') {
    // The client's connect or request timeout (src/aws/clients.ts), after the SDK's retries.
    const what = message.replace(/^@smithy\/[\w-]+ - /, '').replace(/\.$/, '')
    return new CctError(`AWS did not answer${action ? ` ${action}` : ''} in time (${what})`, {
      exitCode: ExitCode.Failure,
      hint: 'Check --endpoint-url / AWS_ENDPOINT_URL and your network; CCT_CONNECT_TIMEOUT and CCT_REQUEST_TIMEOUT (seconds) set the limits',
      cause: error,
    })
  }
  if (
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|socket hang up/.test(message) ||
    /ECONNREFUSED|ENOTFOUND/.test(String(err.code))
  ) {
    return new CctError(`Cannot reach the AWS endpoint (${message})`, {
      exitCode: ExitCode.Failure,
      hint: 'Check --endpoint-url / AWS_ENDPOINT_URL and your network',
      cause: error,
    })
  }
  const status = err.$metadata?.httpStatusCode ?? 0
  const attempts = err.$metadata?.attempts
  const tries = attempts && attempts > 1 ? ` (${attempts} attempts)` : ''
  const call = action ?? 'a call'
  if (THROTTLED.test(name) || status === 429) {
    return new CctError(`AWS kept throttling ${call}${tries}`, {
      exitCode: ExitCode.Timeout,
      hint: 'The account is busy: run the same command again in a minute; it resumes where it stopped (what exists is tagged)',
      cause: error,
    })
  }
  if (status >= 500) {
    const unknown = /^(Unknown|UnknownError|Error)$/.test(name) || /^(Unknown|UnknownError)?$/.test(message)
    const what = isHtml(err)
      ? `HTTP ${status} with an HTML page, not an AWS error`
      : unknown
        ? `HTTP ${status} with no AWS error in the answer`
        : `HTTP ${status} (${name}: ${message})`
    return new CctError(`AWS answered ${call} with ${what}${tries}`, {
      exitCode: ExitCode.Timeout,
      hint: 'A fault on the service side or a proxy between: run the same command again in a few minutes; it resumes where it stopped (what exists is tagged). If it persists, check --endpoint-url / AWS_ENDPOINT_URL and any proxy',
      cause: error,
    })
  }
  return new CctError(`${action ? `${action} failed: ` : ''}${name}: ${message}`, {
    exitCode: ExitCode.Failure,
    cause: error,
  })
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim()
}
