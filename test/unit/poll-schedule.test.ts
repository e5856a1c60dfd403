/**
 * The waits' poll schedule (src/aws/wait.ts pollPause): what it costs in polls and how late it
 * sees the end of a wait, simulated over the durations cct waits for (defaults: 5 s interval,
 * 1 s shortest pause).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {pollPause} from '../../src/aws/wait.js'

/** Polls made, and seconds between the end of a wait of `seconds` and the poll that sees it. */
function simulate(seconds: number, pause = (at: number) => pollPause(at, 5000, 1000)): {polls: number; late: number} {
  let at = 0
  for (let polls = 1; ; polls++) {
    if (at >= seconds * 1000) return {polls, late: (at - seconds * 1000) / 1000}
    at += pause(at)
  }
}

/** The schedule before: a tenth of the time waited, between 1 s and the 5 s interval. */
const before = (at: number) => Math.min(5000, Math.max(1000, at / 10))

describe('poll schedule', () => {
  it('sees a wait of seconds end within a second or 5%: the sandbox cache (20 s), a deletion (10 s)', () => {
    for (const seconds of [10, 15, 20, 22.5, 30, 60]) {
      const {late} = simulate(seconds)
      assert.ok(late <= Math.max(1, seconds * 0.05), `${seconds} s: ${late} s late`)
    }
    assert.ok(simulate(20, before).late > 1, 'before, the sandbox cache was seen more than a second late')
    assert.equal(simulate(20).late, 0)
  })

  it('polls a cache creation on AWS (5-15 minutes) about as often as before, and sees it end within 2.5%', () => {
    for (const minutes of [5, 10, 15]) {
      const {polls, late} = simulate(minutes * 60)
      const was = simulate(minutes * 60, before).polls
      // Fewer polls from 10 minutes on; at 5 minutes at most a fifth more (91 where 78).
      assert.ok(polls <= (minutes < 10 ? was * 1.2 : was), `${minutes} min: ${polls} polls, ${was} before`)
      assert.ok(late <= minutes * 60 * 0.025, `${minutes} min: ${late} s late`)
    }
  })

  it('keeps a shorter interval asked for (CCT_POLL_INTERVAL_MS) early in a wait', () => {
    assert.equal(pollPause(2000, 200, 1000), 200)
  })
})
