/**
 * Runs the built cct (dist/, through oclif's run() as bin/run.js does) many times in one
 * process: one command at a time, each with its own arguments, environment, working
 * directory, call log, stdout, stderr and exit code, as a separate `cct` process would have
 * them. A process costs about 0.4 s of CPU before cct's first line runs (Node, oclif, the
 * bundle); a test that runs a hundred refusals pays it once. test/support/cli-host.ts
 * drives it; plain JavaScript, so it starts without tsx.
 *
 * Requests and answers are JSON lines on fd 3, so stdin stays the empty pipe a spawned cct
 * gets. Anything written to fd 1 or 2 other than through process.stdout/stderr (which the
 * host captures per command) reaches the driver, which fails the command it ran during.
 */
import {createInterface} from 'node:readline'
import {Socket} from 'node:net'

const bin = new URL('../../bin/run.js', import.meta.url)
const {run, flush} = await import('@oclif/core')
const {handle, Exit} = await import('@oclif/core/handle')

const channel = new Socket({fd: 3, readable: true, writable: true})
const captured = {stdout: '', stderr: ''}
const signals = ['SIGINT', 'SIGTERM']

for (const name of ['stdout', 'stderr']) {
  process[name].write = function (chunk, encoding, callback) {
    captured[name] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    const done = typeof encoding === 'function' ? encoding : callback
    if (done) process.nextTick(done)
    return true
  }
}

/** One `cct <args>`: what a process with this environment and working directory would print and exit with. */
async function once({args, env, cwd}) {
  for (const key of Object.keys(process.env)) delete process.env[key]
  Object.assign(process.env, env)
  process.chdir(cwd)
  // As a process started as `node bin/run.js <args>` has it (some code reads process.argv).
  process.argv = [process.execPath, bin.pathname, ...args]
  process.exitCode = undefined
  captured.stdout = ''
  captured.stderr = ''
  const listeners = Object.fromEntries(signals.map((s) => [s, process.listeners(s)]))
  let code
  try {
    await run(args, bin.href)
    await flush()
    code = process.exitCode ?? 0
  } catch (error) {
    // What execute() does with an error, its process.exit caught: oclif documents Exit as the seam for this.
    Exit.exit = (exitCode = 0) => (code = exitCode)
    await handle(error instanceof Error ? error : new Error(String(error)))
  }
  // Each command installs its interrupt handlers; they belong to its run, not the next.
  for (const s of signals) for (const l of process.listeners(s)) if (!listeners[s].includes(l)) process.off(s, l)
  process.exitCode = undefined
  return {code, stdout: captured.stdout, stderr: captured.stderr}
}

for await (const line of createInterface({input: channel})) {
  const request = JSON.parse(line)
  const answer = await once(request).catch((error) => ({code: null, stdout: '', stderr: String(error?.stack ?? error)}))
  channel.write(JSON.stringify({id: request.id, ...answer}) + '\n')
}
