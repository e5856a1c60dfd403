/**
 * One local AWS (moto + redis-server) per test file:
 *
 *   const sandbox = useSandbox({seed: true})
 *   it('...', async () => { const s = sandbox(); ... s.endpoint ... sandbox.seed().roleArn })
 *
 * Started in `before`, emptied (and re-seeded) in `beforeEach`, stopped in `after`.
 */
import {after, before, beforeEach} from 'node:test'

import {startSandbox, type Sandbox, type SandboxOptions} from '../../sandbox/launcher.js'
import {seedAccount, type SeedInfo} from '../../sandbox/seed.js'

export interface SandboxGetter {
  (): Sandbox
  /** What seedAccount made for the current test (only with `seed: true`). */
  seed(): SeedInfo
}

/** `seedData`: also the five APIs' tables with their rows (slower; for tests that invoke the functions). */
export function useSandbox(opts: SandboxOptions & {seed?: boolean; seedData?: boolean} = {}): SandboxGetter {
  let sandbox: Sandbox | undefined
  let seeded: SeedInfo | undefined
  before(async () => {
    sandbox = await startSandbox(opts)
    // The SDK and in-process cct find credentials in the environment; dummy ones also
    // make sure a test can never reach a real account.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    })
    delete process.env.AWS_PROFILE
    delete process.env.AWS_SESSION_TOKEN
  })
  beforeEach(async () => {
    await get().reset()
    if (opts.seed) seeded = await seedAccount(get(), {data: opts.seedData})
  })
  after(() => sandbox?.stop())
  const get = () => sandbox ?? assertNever('the sandbox is not started (call useSandbox at the top of the test file)')
  return Object.assign(get, {seed: () => seeded ?? assertNever('useSandbox({seed: true}) seeds the account')})
}

function assertNever(message: string): never {
  throw new Error(message)
}
