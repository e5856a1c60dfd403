import {execFileSync} from 'node:child_process'
import {cpus, totalmem, release, platform} from 'node:os'

/** The machine a benchmark ran on, recorded beside its numbers. */
export function machine(): Record<string, string | number> {
  const redis = (() => {
    try {
      return execFileSync('redis-server', ['--version'], {encoding: 'utf8'}).trim()
    } catch {
      return 'not installed'
    }
  })()
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    redis,
  }
}
