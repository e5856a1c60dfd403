import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')

/** A clean environment: no credentials, no profile files, no instance metadata. */
function run(args: string[], extra: Record<string, string>) {
  const home = mkdtempSync(join(tmpdir(), 'cct-home-'))
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(home, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
      ...extra,
    },
  })
}

describe('where and as whom', () => {
  it('no region anywhere: exit 3 and how to set one', () => {
    const r = run(['vpc', '--dry-run'], {AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y'})
    assert.equal(r.status, 3)
    assert.equal(
      r.stderr.trim(),
      '✖ No AWS region is set. Pass --region, set AWS_REGION, or set a region in your AWS profile',
    )
  })

  it('no credentials anywhere: exit 3 and how to log in', () => {
    // The endpoint is a closed loopback port: nothing may be sent without credentials anyway.
    const r = run(['vpc', '--dry-run'], {AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:9'})
    assert.equal(r.status, 3)
    assert.match(r.stderr, /✖ No AWS credentials found\. Run `aws sso login` or `aws configure`, or pass --profile/)
  })

  it('a region from the profile is used when no flag or env names one', () => {
    const home = mkdtempSync(join(tmpdir(), 'cct-home-'))
    writeFileSync(join(home, 'config'), '[profile demo]\nregion = eu-west-1\n')
    const r = spawnSync(process.execPath, [bin, 'vpc', '--dry-run', '--profile', 'demo', '--json'], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: join(home, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      },
    })
    // It got past region resolution (to the missing credentials of that profile).
    const body = JSON.parse(r.stdout) as {error: {message: string}}
    assert.doesNotMatch(body.error.message, /No AWS region/)
    assert.equal(r.status, 3)
  })
})
