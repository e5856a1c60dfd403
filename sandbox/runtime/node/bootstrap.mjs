/**
 * Lambda's Node.js runtime, in the sandbox: one execution environment.
 *
 * Started by sandbox/fidelity/invoke.py (maybe through AWS_LAMBDA_EXEC_WRAPPER) in the task
 * root, with the control socket as fd 3 (JSON lines, sandbox/README.md). It loads the
 * network hook, patches console as Lambda's runtime does, loads the handler (_HANDLER
 * "dir/file.func": file.js, .mjs or .cjs; CommonJS or ES module), says "ready", and serves
 * one invocation at a time until the sandbox kills it.
 */
import {existsSync, readFileSync} from 'node:fs'
import module, {createRequire} from 'node:module'
import net from 'node:net'
import {basename, dirname, join, resolve as resolvePath} from 'node:path'
import {createInterface} from 'node:readline'
import {format} from 'node:util'
import {pathToFileURL} from 'node:url'

import * as network from './network.mjs'

const control = new net.Socket({fd: 3, readable: true, writable: true})
const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd()
const major = Number(process.env.AWS_EXECUTION_ENV?.match(/nodejs(\d+)/)?.[1] ?? 22)
let current // the invocation being served: {requestId, ...}

function send(message) {
  control.write(JSON.stringify(message) + '\n')
}

/** Lambda's console: "<ISO time>\t<request id>\t<LEVEL>\t<message>", one line per call. */
function patchConsole() {
  const write = (level) => (...args) => {
    const text = format(...args).replace(/\n/g, '\r')
    process.stdout.write(`${new Date().toISOString()}\t${current?.requestId ?? 'undefined'}\t${level}\t${text}\n`)
  }
  console.log = console.info = write('INFO')
  console.warn = write('WARN')
  console.error = write('ERROR')
  console.debug = write('DEBUG')
  console.trace = write('TRACE')
}

/**
 * ES modules do not read NODE_PATH; Lambda's runtime still lets an ES module handler
 * import what the runtime and the layers provide. Fall back to the NODE_PATH folders when
 * Node's own resolution finds nothing.
 */
function esmNodePathFallback() {
  if (typeof module.registerHooks !== 'function') return
  const parents = (process.env.NODE_PATH ?? '').split(':').filter((p) => basename(p) === 'node_modules')
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context)
      } catch (error) {
        if (error?.code !== 'ERR_MODULE_NOT_FOUND' || /^[./]|^file:|^node:/.test(specifier)) throw error
        for (const dir of parents) {
          try {
            return nextResolve(specifier, {...context, parentURL: pathToFileURL(join(dirname(dir), 'index.mjs')).href})
          } catch {
            // next folder
          }
        }
        throw error
      }
    },
  })
}

class InitError extends Error {
  constructor(errorType, message) {
    super(message)
    this.errorType = errorType
  }
}

function isEsm(file) {
  if (file.endsWith('.mjs')) return true
  if (file.endsWith('.cjs')) return false
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg)) {
      try {
        return JSON.parse(readFileSync(pkg, 'utf8')).type === 'module'
      } catch {
        return false
      }
    }
    if (dir === dirname(dir) || dir === dirname(taskRoot)) return false
  }
}

/** As Lambda's runtime reads _HANDLER: the module path up to the first "." after the last "/". */
async function loadHandler(spec) {
  const slash = spec.lastIndexOf('/')
  const [moduleRoot, rest] = slash >= 0 ? [spec.slice(0, slash), spec.slice(slash + 1)] : ['', spec]
  const dot = rest.indexOf('.')
  if (dot < 0) throw new InitError('Runtime.MalformedHandlerName', `Bad handler ${spec}`)
  const [name, path] = [rest.slice(0, dot), rest.slice(dot + 1)]
  const base = resolvePath(taskRoot, moduleRoot, name)
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f))
  let loaded
  try {
    if (file && isEsm(file)) loaded = await import(pathToFileURL(file).href)
    else loaded = createRequire(join(taskRoot, moduleRoot, 'index.js'))(file ?? name)
  } catch (error) {
    if (error instanceof SyntaxError) throw new InitError('Runtime.UserCodeSyntaxError', `${error.name}: ${error.message}`)
    if (error?.code === 'MODULE_NOT_FOUND' || error?.code === 'ERR_MODULE_NOT_FOUND') {
      throw new InitError('Runtime.ImportModuleError', `Error: Cannot find module '${name}'\nRequire stack:\n- ${import.meta.filename}`)
    }
    throw error
  }
  let handler = loaded
  for (const key of path.split('.')) handler = handler?.[key]
  if (handler === undefined && loaded?.default) {
    handler = loaded.default
    for (const key of path.split('.')) handler = handler?.[key]
  }
  if (typeof handler !== 'function') {
    throw new InitError('Runtime.HandlerNotFound', `${moduleRoot ? moduleRoot + '/' : ''}${name}.${path} is undefined or not exported`)
  }
  return handler
}

function errorMessage(error, requestId) {
  const isError = error instanceof Error
  return {
    type: 'error',
    requestId,
    errorType: error?.errorType ?? (isError ? error.name : typeof error),
    errorMessage: isError ? error.message : String(error),
    stackTrace: isError && error.stack ? error.stack.split('\n') : [],
  }
}

function context(message) {
  return {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: message.invokedFunctionArn ?? '',
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: message.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
  }
}

/** Async handlers return (or reject); callback handlers (nodejs22.x and older) call back. */
function call(handler, event, ctx) {
  if (handler.length >= 3 && major < 24) {
    return new Promise((resolve, reject) => {
      const done = (error, result) => (error ? reject(error) : resolve(result))
      try {
        const returned = handler(event, ctx, done)
        if (returned && typeof returned.then === 'function') returned.then(resolve, reject)
      } catch (error) {
        reject(error)
      }
    })
  }
  return Promise.resolve().then(() => handler(event, ctx))
}

async function invoke(handler, message) {
  network.apply(message.network)
  current = message
  try {
    const result = await call(handler, JSON.parse(message.event || 'null'), context(message))
    send({type: 'result', requestId: message.requestId, payload: JSON.stringify(result === undefined ? null : result)})
  } catch (error) {
    send(errorMessage(error, message.requestId))
  }
}

/** An error outside the handler's promise ends the environment, as on Lambda. */
function fatal(errorType) {
  return (error) => {
    const message = errorMessage(error, current?.requestId)
    if (errorType) message.errorType = errorType
    process.stderr.write(`${new Date().toISOString()}\t${current?.requestId ?? 'undefined'}\tERROR\t${errorType ?? 'Uncaught Exception'} \t${JSON.stringify(message)}\n`)
    control.write(JSON.stringify(message) + '\n', () => process.exit(129))
  }
}

async function main() {
  network.install()
  patchConsole()
  esmNodePathFallback()
  process.on('uncaughtException', fatal(undefined))
  process.on('unhandledRejection', fatal('Runtime.UnhandledPromiseRejection'))
  const started = performance.now()
  let handler
  try {
    handler = await loadHandler(process.env._HANDLER ?? '')
  } catch (error) {
    control.write(JSON.stringify({...errorMessage(error, null), errorType: error.errorType ?? error.name}) + '\n', () => process.exit(1))
    return
  }
  send({type: 'ready', initMs: Math.round((performance.now() - started) * 100) / 100})
  // One at a time: the sandbox sends the next invoke only after this one's answer.
  for await (const line of createInterface({input: control})) {
    if (!line.trim()) continue
    const message = JSON.parse(line)
    if (message.type === 'invoke') await invoke(handler, message)
  }
  process.exit(0)
}

await main()
