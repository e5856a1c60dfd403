/**
 * The one JSON document every command prints with --json (README "JSON output"). Scripts
 * read `ok`, then `result` or `error`; the shape of each command's envelope is committed
 * as a JSON Schema in schemas/<command>.json, generated from these types (`npm run schemas`).
 *
 * This module is loaded by every command (the base command builds the envelope), so it
 * imports nothing at run time: `cct --help` stays light.
 */

/** An error as scripts get it: the same line and hint a person reads on stderr, and the exit code. */
export interface JsonError {
  message: string
  /** What to run or change next; null when there is nothing better to say than the message. */
  hint: string | null
  /** The process's exit code (`cct --help` lists them). */
  exitCode: number
}

interface EnvelopeBase<Command extends string> {
  /** The command that ran, as typed after `cct` (e.g. "verify"). */
  command: Command
  /** The stack's name; null only when the command failed before it was known. */
  stack: string | null
  /** The AWS region; null when the command failed before it was resolved. */
  region: string | null
  /** Things worth reading that did not stop the command (e.g. "no internet route"). */
  warnings: string[]
}

/** The command did what it was asked; exit code 0. */
export interface Succeeded<Command extends string, Result> extends EnvelopeBase<Command> {
  ok: true
  result: Result
  error: null
}

/**
 * The command failed: `error` says why and carries the exit code. `result` is what it
 * found when it got that far (`cct verify`'s report with a failed check, exit 7), else null.
 */
export interface Failed<Command extends string, Result> extends EnvelopeBase<Command> {
  ok: false
  result: Result | null
  error: JsonError
}

export type Envelope<Command extends string, Result> = Succeeded<Command, Result> | Failed<Command, Result>

/** A JSON value (what a step's output holds). */
export type JsonValue = string | number | boolean | null | JsonValue[] | {[key: string]: JsonValue}

export function envelope<C extends string, R>(fields: {
  command: C
  stack: string | null
  region: string | null
  warnings: readonly string[]
  result: R | null
  error?: {message: string; hint?: string; exitCode: number}
}): Envelope<C, R> {
  const {command, stack, region} = fields
  const warnings = [...fields.warnings]
  if (fields.error) {
    const {message, hint, exitCode} = fields.error
    return {
      ok: false,
      command,
      stack,
      region,
      result: fields.result,
      warnings,
      error: {message, hint: hint ?? null, exitCode},
    }
  }
  return {ok: true, command, stack, region, result: fields.result as R, warnings, error: null}
}
