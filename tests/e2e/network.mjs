// The Bluesky team's test network (PLC + PDS + AppView, and the Ozone the AppView expects) for
// gitfeed's end-to-end tests.
//
// Start: DB_POSTGRES_URL=postgresql://... REDIS_HOST=unused:6379 TMPDIR=/tmp/run node network.mjs
// Env: DB_POSTGRES_URL (required), DB_POSTGRES_SCHEMA (fresh per run, [A-Za-z_]+; made up if unset),
//      E2E_PLC_PORT / E2E_PDS_PORT / E2E_BSKY_PORT (optional fixed ports).
// When ready it prints ONE line of JSON to stdout: {"event": "ready", "plc", "pds", "bsky", "ozone",
// "control", ...}. Then it serves a control channel over HTTP on 127.0.0.1 (POST, JSON in and out):
//   /process-all   {timeout?}               wait until the AppView has indexed everything
//   /feedgen-did   {endpoint}               register a did:plc with service #bsky_fg -> {did}
//   /service-jwt   {iss, aud, lxm, exp?, forge?}  JWT signed with iss's repo key (as the PDS signs
//                                           for the AppView), or with a fresh key when forge -> {jwt}
//   /subject-status {did, takedown?, deactivated?}  admin takedown / deactivation on the PDS
//   /close         {}                       shut down (same as closing stdin, SIGTERM or SIGINT)
// Everything else the tests need (accounts, posts, likes, getFeed) is plain XRPC from Python.

import http from 'node:http'
import { randomBytes } from 'node:crypto'

import devEnv from '@atproto/dev-env'
import xrpcServer from '@atproto/xrpc-server'
import atprotoCrypto from '@atproto/crypto'
import plcLib from '@did-plc/lib'

const { TestNetwork } = devEnv
const { createServiceJwt } = xrpcServer
const { Secp256k1Keypair } = atprotoCrypto

const ADMIN_PASSWORD = 'admin-pass' // dev-env's constant for PDS, AppView and Ozone

const log = (...args) => process.stderr.write(`[network.mjs] ${args.join(' ')}\n`)

const optionalPort = (name) => {
  const value = process.env[name]
  return value ? { port: Number(value) } : {}
}

const started = Date.now()
const schema = process.env.DB_POSTGRES_SCHEMA || `gitfeed_run_${randomBytes(6).toString('hex').replace(/[0-9]/g, (d) => 'abcdefghij'[d])}`
if (!/^[A-Za-z_]+$/.test(schema)) {
  log(`DB_POSTGRES_SCHEMA must match [A-Za-z_]+, got ${schema}`)
  process.exit(2)
}
if (!process.env.DB_POSTGRES_URL) {
  log('DB_POSTGRES_URL is required')
  process.exit(2)
}
process.env.REDIS_HOST ||= 'unused:6379' // required by TestNetwork, never connected to

let network
let control
let closing = null

const shutdown = (code = 0) => {
  if (closing) return closing
  closing = (async () => {
    const timer = setTimeout(() => {
      log('close took over 15 s; exiting anyway')
      process.exit(1)
    }, 15000)
    try {
      if (control) await new Promise((resolve) => control.close(resolve))
      if (network) await network.close()
    } catch (err) {
      log(`error while closing: ${err?.stack || err}`)
      code = code || 1
    }
    clearTimeout(timer)
    process.exit(code)
  })()
  return closing
}

process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))
process.stdin.on('end', () => shutdown(0))
process.stdin.on('close', () => shutdown(0))
process.stdin.resume() // the parent holds our stdin: when it goes away, so do we

const feedgenDid = async ({ endpoint }) => {
  if (typeof endpoint !== 'string' || !/^https?:\/\//.test(endpoint)) {
    throw new Error('endpoint must be an http(s) URL')
  }
  const keypair = await Secp256k1Keypair.create()
  const op = await plcLib.signOperation(
    {
      type: 'plc_operation',
      verificationMethods: { atproto: keypair.did() },
      rotationKeys: [keypair.did()],
      alsoKnownAs: [],
      services: { bsky_fg: { type: 'BskyFeedGenerator', endpoint } },
      prev: null,
    },
    keypair,
  )
  const did = await plcLib.didForCreateOp(op)
  await new plcLib.Client(network.plc.url).sendOperation(did, op)
  return { did }
}

const serviceJwt = async ({ iss, aud, lxm = null, exp, iat, forge = false }) => {
  if (typeof iss !== 'string' || typeof aud !== 'string') throw new Error('iss and aud are required')
  const keypair = forge
    ? await Secp256k1Keypair.create()
    : await network.pds.ctx.actorStore.keypair(iss.split('#')[0])
  const jwt = await createServiceJwt({ iss, aud, lxm, keypair, ...(exp ? { exp } : {}), ...(iat ? { iat } : {}) })
  return { jwt }
}

const subjectStatus = async ({ did, takedown, deactivated }) => {
  const body = { subject: { $type: 'com.atproto.admin.defs#repoRef', did } }
  if (takedown !== undefined) body.takedown = { applied: Boolean(takedown), ref: 'gitfeed-e2e' }
  if (deactivated !== undefined) body.deactivated = { applied: Boolean(deactivated) }
  const res = await fetch(`${network.pds.url}/xrpc/com.atproto.admin.updateSubjectStatus`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: network.pds.adminAuth() },
    body: JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`updateSubjectStatus: ${res.status} ${await res.text()}`)
  return await res.json()
}

const routes = {
  '/process-all': async ({ timeout } = {}) => {
    await network.processAll(timeout ?? 10000)
    return {}
  },
  '/feedgen-did': feedgenDid,
  '/service-jwt': serviceJwt,
  '/subject-status': subjectStatus,
  '/close': async () => {
    setImmediate(() => shutdown(0))
    return {}
  },
}

const readBody = (req) =>
  new Promise((resolve, reject) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })

const serveControl = () =>
  new Promise((resolve) => {
    const server = http.createServer(async (req, res) => {
      const reply = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      const handler = routes[req.url]
      if (req.method !== 'POST' || !handler) return reply(404, { error: 'NotFound' })
      try {
        const text = await readBody(req)
        reply(200, await handler(text ? JSON.parse(text) : {}))
      } catch (err) {
        reply(500, { error: 'Failed', message: String(err?.message || err) })
      }
    })
    server.listen(0, '127.0.0.1', () => resolve(server))
  })

try {
  network = await TestNetwork.create({
    dbPostgresUrl: process.env.DB_POSTGRES_URL,
    dbPostgresSchema: schema,
    plc: optionalPort('E2E_PLC_PORT'),
    pds: optionalPort('E2E_PDS_PORT'),
    bsky: optionalPort('E2E_BSKY_PORT'),
  })
  if (closing) await closing
  control = await serveControl()
} catch (err) {
  log(`start failed: ${err?.stack || err}`)
  await shutdown(1)
}

process.stdout.write(
  JSON.stringify({
    event: 'ready',
    plc: network.plc.url,
    pds: network.pds.url,
    bsky: network.bsky.url,
    appview: network.bsky.url,
    ozone: network.ozone.url,
    control: `http://127.0.0.1:${control.address().port}`,
    pdsDid: network.pds.ctx.cfg.service.did,
    appviewDid: network.bsky.ctx.cfg.serverDid,
    adminPassword: ADMIN_PASSWORD,
    handleDomain: '.test',
    schemas: [`appview_${schema}`, `ozone_${schema}`],
    pid: process.pid,
    startupMs: Date.now() - started,
  }) + '\n',
)
