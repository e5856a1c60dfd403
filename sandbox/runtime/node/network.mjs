/**
 * The function's network, as its VPC makes it (the sandbox's network table, README).
 *
 * Loaded by bootstrap.mjs before the function's code; each invocation brings the table
 * (`apply`). Then:
 * - name lookups (dns.lookup, dns.promises.lookup) are answered from `hosts`, or
 *   `defaultHost` for any other name, as the VPC's DNS answers them;
 * - a connection to a virtual address (127.77.0.0/16), or to a name that resolves to one,
 *   goes to the real loopback address that routes it, or to the tarpit (a listener that
 *   never answers a SYN) when nothing routes it. This is done in
 *   net.Socket.prototype.connect, which http, https, tls, ioredis and undici (fetch) all
 *   end in; the caller's options object is not changed, so TLS keeps the name it asked
 *   for (SNI and the certificate check);
 * - anything else is left alone.
 */
import dns from 'node:dns'
import net from 'node:net'

const EMPTY = {hosts: {}, routes: {}, defaultHost: null, tarpit: null}
let table = EMPTY

/** Use this table from now on. */
export function apply(next) {
  const hosts = {}
  for (const [name, ip] of Object.entries(next?.hosts ?? {})) hosts[name.toLowerCase().replace(/\.$/, '')] = ip
  table = {...EMPTY, ...next, hosts}
}

/** The address the VPC's DNS gives `host`; undefined leaves the lookup alone. */
export function resolve(host) {
  if (typeof host !== 'string' || host === '' || net.isIP(host) || host.toLowerCase() === 'localhost') return undefined
  const name = host.toLowerCase().replace(/\.$/, '')
  if (table.hosts[name]) return table.hosts[name]
  // The longest matching suffix: bucket-style S3 and account-based DynamoDB names.
  const suffix = Object.keys(table.suffixes ?? {}).filter((x) => name.endsWith(x.toLowerCase())).sort((a, b) => b.length - a.length)[0]
  return suffix ? table.suffixes[suffix] : (table.defaultHost ?? undefined)
}

export function isVirtual(ip) {
  if (net.isIPv4(ip)) return ip.startsWith('127.77.')
  return false
}

/** Where virtual ip:port really goes, as {host, port}; undefined when not virtual or no table. */
export function route(ip, port) {
  if (!isVirtual(ip)) return undefined
  const target = table.routes?.[`${ip}:${port}`] ?? table.tarpit
  if (!target) return undefined
  const at = target.lastIndexOf(':')
  return {host: target.slice(0, at), port: Number(target.slice(at + 1))}
}

function answer(address, options, callback) {
  if (options?.all) callback(null, [{address, family: 4}])
  else callback(null, address, 4)
}

export function install() {
  const lookup = dns.lookup
  dns.lookup = function (hostname, options, callback) {
    if (typeof options === 'function') [callback, options] = [options, {}]
    if (typeof options === 'number') options = {family: options}
    const found = resolve(hostname)
    if (found === undefined || options?.family === 6) return lookup.call(this, hostname, options, callback)
    process.nextTick(answer, found, options, callback)
    return {}
  }
  const promised = dns.promises.lookup
  dns.promises.lookup = async function (hostname, options) {
    const found = resolve(hostname)
    const family = typeof options === 'number' ? options : options?.family
    if (found === undefined || family === 6) return promised.call(this, hostname, options)
    return options?.all ? [{address: found, family: 4}] : {address: found, family: 4}
  }

  const connect = net.Socket.prototype.connect
  net.Socket.prototype.connect = function (...args) {
    const normalized = Array.isArray(args[0]) ? args[0] : net._normalizeArgs(args)
    const [options, callback] = normalized
    // A pipe only when path is set: https hands `path: null` down to tls and net.
    if (!options || options.path) return connect.apply(this, args)
    const host = options.host ?? 'localhost'
    const virtual = isVirtual(host) ? host : resolve(host)
    const target = virtual && route(virtual, Number(options.port))
    if (!target) return connect.apply(this, args)
    return connect.call(this, {...options, host: target.host, port: target.port, lookup: undefined}, callback)
  }
}
