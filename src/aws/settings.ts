/** Where and as whom cct talks to AWS; resolved the way the AWS CLI does. */
export interface AwsSettings {
  /** --region / AWS_REGION; when absent the profile's region, as the AWS CLI. */
  region?: string
  /** --profile / AWS_PROFILE: shared config and credentials files, SSO included. */
  profile?: string
  /** --endpoint-url / AWS_ENDPOINT_URL: LocalStack, the moto sandbox, a VPC endpoint. */
  endpoint?: string
  /** SDK attempts per call (standard retry mode). */
  maxAttempts?: number
}

export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/
