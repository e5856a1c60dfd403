// Loaded with --import: records every module the process resolves to CCT_TRACE_LOADS,
// so a test can see what `cct --help` pulled in.
import {register} from 'node:module'

register('./trace-loads-hooks.mjs', import.meta.url)
