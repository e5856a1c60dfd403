import {Help} from '@oclif/core'

import {EXIT_CODE_HELP} from './errors.js'

/** oclif's help plus the exit codes, so scripts can rely on them. */
export default class CctHelp extends Help {
  override formatRoot(): string {
    const codes = EXIT_CODE_HELP.map(([code, meaning]) => `  ${String(code).padEnd(4)}${meaning}`).join('\n')
    return `${super.formatRoot()}\n\nEXIT CODES\n${codes}`
  }
}
