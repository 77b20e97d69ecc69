// The local control endpoint of a running node (SPEC.md §9): a Unix socket (mode 0600, in a 0700
// directory) speaking JSON lines, so `saorsa-gossip network status`, `pubsub publish`, … and scripts
// can drive a node that runs in another process. Only the socket's owner can connect; every request
// is size-limited and validated; a bad request gets an error reply, never a crash. What one client
// can make the node hold is bounded (the constants below): a client that does not read its replies
// is not read either, and idle connections are closed or evicted, so a fresh CLI command is served.
import { chmod, mkdir, unlink } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { dirname } from 'node:path'
import type { PubSubDelivery } from '@saorsa-gossip/pubsub'
import { TypedEventEmitter } from '@saorsa-gossip/types'
import type { GossipNode } from './node.js'

// Bounds of the control endpoint (SPEC.md §9). Together they cap what one client can make the node
// hold: a non-reading client costs at most CONTROL_PAUSE_BACKLOG_BYTES of replies plus one read
// chunk of requests; a subscriber at most MAX_CONTROL_BACKLOG_BYTES of message events.

/** Longest request or reply line (a 1 MiB message in base64 plus framing). */
export const MAX_CONTROL_LINE_BYTES = 1_500_000
/**
 * Open control connections at once. A connection beyond this one evicts the connection that has
 * waited longest without progress (idle ones first, then ones with a request being served, then
 * subscribers), so a fresh `network status` is always answered.
 */
export const MAX_CONTROL_CONNECTIONS = 32
/** Subscriptions per control connection. */
export const MAX_CONTROL_SUBSCRIPTIONS = 64
/** Bytes queued to a control client that does not read; further message events to it are dropped. */
export const MAX_CONTROL_BACKLOG_BYTES = 16 * 1024 * 1024
/**
 * The node stops reading a client's requests while more than this many reply bytes wait for the
 * client to read them, and reads again on 'drain'. A CLI request's reply is a few KiB; 256 KiB lets a
 * script pipeline hundreds of requests without stalling.
 */
export const CONTROL_PAUSE_BACKLOG_BYTES = 256 * 1024
/** Requests of one connection being served at once; further requests wait unread in the socket. */
export const MAX_CONTROL_REQUESTS_IN_FLIGHT = 16
/**
 * A connection with no subscription and no request being served is closed once it has gone this long
 * without a request, a reply or a drain of its queued replies — an idle client, or a non-reader left
 * paused. A CLI command takes milliseconds; a script that pauses longer reconnects.
 */
export const CONTROL_IDLE_TIMEOUT_MS = 60_000

/** A message as the control endpoint reports it. */
export interface ControlDelivery {
  topic: string
  id: string
  from: string
  receivedFrom: string
  seq: number
  timestampMs: number
  receivedAtMs: number
  hops: number
  /** The payload as UTF-8 text when it is valid UTF-8, else null. */
  message: string | null
  payloadBase64: string
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true })

function toDelivery(topic: string, d: PubSubDelivery, now: number): ControlDelivery {
  let message: string | null
  try {
    message = utf8Strict.decode(d.payload)
  } catch {
    message = null
  }
  return {
    topic,
    id: d.id,
    from: d.from,
    receivedFrom: d.receivedFrom,
    seq: d.seq,
    timestampMs: d.timestampMs,
    receivedAtMs: now,
    hops: d.hops,
    message,
    payloadBase64: Buffer.from(d.payload).toString('base64')
  }
}

type Params = Record<string, unknown>

function str(p: Params, k: string, max = 1024): string {
  const v = p[k]
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new Error(`"${k}" must be a non-empty string of at most ${max} characters`)
  return v
}

const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * Canonical base64 only (RFC 4648 §4 with §3.5: the standard alphabet, "=" padding to a multiple of
 * 4 characters, zero pad bits; no whitespace, no URL-safe alphabet). Buffer.from(x, 'base64') alone
 * skips junk, so a typo would publish other bytes than meant.
 */
function canonicalBase64(p: Params, k: string): Uint8Array {
  const v = p[k]
  if (typeof v === 'string' && v.length % 4 === 0 && BASE64_CHARS.test(v)) {
    const bytes = Buffer.from(v, 'base64')
    if (bytes.toString('base64') === v) return bytes
  }
  throw new Error(`"${k}" must be canonical base64 (RFC 4648 §4: A-Z a-z 0-9 + /, "=" padding to a multiple of 4 characters, zero pad bits, nothing else)`)
}

/** Why a control connection closed. */
export type ControlCloseReason = 'client' | 'idle' | 'evicted' | 'line-too-long' | 'server-closed'

/** Events of a control server, one per change of a connection's state (connections are numbered from 1). */
export interface ControlServerEvents {
  /** The node stopped reading the connection's requests, or still does for another reason: too many unread reply bytes, or too many requests being served. */
  'connection:pause': { connection: number; reason: 'backlog' | 'in-flight'; backlogBytes: number; requests: number }
  /** The node reads the connection's requests again. */
  'connection:resume': { connection: number; requests: number }
  'connection:close': { connection: number; reason: ControlCloseReason; requests: number }
}

/** A running control server; `close()` stops it and removes the socket. */
export interface ControlServer extends TypedEventEmitter<ControlServerEvents> {
  readonly path: string
  /** Control connections open now (at most MAX_CONTROL_CONNECTIONS). */
  readonly connections: number
  close(): Promise<void>
}

/** Options of `startControlServer`; every field is optional. */
export interface ControlServerInit {
  /** Idle connections are closed after this long (default CONTROL_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number
}

/**
 * Serves `node` on the Unix socket `path`. Fails with a clear message when another live node already
 * serves that path; a stale socket file (nobody listening) is replaced.
 */
export async function startControlServer(node: GossipNode, path: string, init: ControlServerInit = {}): Promise<ControlServer> {
  const idleTimeoutMs = init.idleTimeoutMs ?? CONTROL_IDLE_TIMEOUT_MS
  if (!(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be positive')
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await chmod(dirname(path), 0o700)
  if (await isLive(path)) throw new Error(`another node is already running with control socket ${path}`)
  await unlink(path).catch(() => undefined)
  const conns = new Set<ControlConnection>()
  let ids = 0
  const handle = new DefaultControlServer(path, conns)
  const shared: Shared = { node, idleTimeoutMs, events: handle, progress: 0, closed: (c) => conns.delete(c) }
  handle.server = createServer((socket) => {
    // Evict rather than refuse, so a newcomer (the CLI) is always served: the connection that has
    // gone longest without progress, preferring one with nothing of ours pending over one with a
    // request being served, over a subscriber.
    if (conns.size >= MAX_CONTROL_CONNECTIONS) {
      let victim: ControlConnection | undefined
      for (const c of conns) if (victim === undefined || c.rank() < victim.rank() || (c.rank() === victim.rank() && c.lastProgress < victim.lastProgress)) victim = c
      victim?.close('evicted', `control connection closed: the node serves at most ${MAX_CONTROL_CONNECTIONS} connections and this one had waited longest`)
    }
    conns.add(new ControlConnection(++ids, socket, shared))
  })
  const server = handle.server
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // The umask applies to the socket file at creation; chmod right after closes the remaining gap,
    // and the 0700 directory keeps others out meanwhile.
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })
  await chmod(path, 0o600)
  return handle
}

class DefaultControlServer extends TypedEventEmitter<ControlServerEvents> implements ControlServer {
  readonly path: string
  readonly #conns: Set<ControlConnection>
  server: Server | undefined

  constructor(path: string, conns: Set<ControlConnection>) {
    super()
    this.path = path
    this.#conns = conns
  }

  get connections(): number {
    return this.#conns.size
  }

  async close(): Promise<void> {
    for (const c of [...this.#conns]) c.close('server-closed')
    const server = this.server
    if (server?.listening === true) await new Promise<void>((resolve) => server.close(() => resolve()))
    await unlink(this.path).catch(() => undefined)
  }
}

/** True when something accepts connections on `path`. */
export function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

interface Shared {
  node: GossipNode
  idleTimeoutMs: number
  events: TypedEventEmitter<ControlServerEvents>
  /** Sequence of progress marks across connections: lower means waiting longer. */
  progress: number
  closed(c: ControlConnection): void
}

/**
 * One client: reads request lines only while it is not blocked (at most MAX_CONTROL_REQUESTS_IN_FLIGHT
 * being served and at most CONTROL_PAUSE_BACKLOG_BYTES of replies unread), so a client that pipelines
 * without reading makes the node hold a bounded amount, and the rest waits in the client's socket.
 */
class ControlConnection {
  readonly id: number
  readonly #socket: Socket
  readonly #s: Shared
  readonly #subs = new Map<number, AbortController>()
  readonly #idle: NodeJS.Timeout
  /** Unparsed input from #pos on; the part after the last newline is #tail characters long. */
  #buf = ''
  #pos = 0
  #tail = 0
  #serving = 0
  #requests = 0
  /** Why the socket is paused (not read), if it is. */
  #pausedFor: 'backlog' | 'in-flight' | undefined
  #closed = false
  #reason: ControlCloseReason = 'client'
  /** The shared progress sequence at this connection's last request, reply or drain. */
  lastProgress = 0

  constructor(id: number, socket: Socket, shared: Shared) {
    this.id = id
    this.#socket = socket
    this.#s = shared
    this.#idle = setTimeout(() => this.#onIdleTimer(), shared.idleTimeoutMs).unref()
    this.#progress()
    socket.setEncoding('utf8')
    socket.on('close', () => this.#finish())
    socket.on('error', () => socket.destroy())
    socket.on('drain', () => {
      this.#progress()
      this.#pump()
    })
    socket.on('data', (chunk: string) => {
      this.#buf += chunk
      const nl = chunk.lastIndexOf('\n')
      this.#tail = nl < 0 ? this.#tail + chunk.length : chunk.length - nl - 1
      if (this.#tail > MAX_CONTROL_LINE_BYTES) return this.close('line-too-long', `request longer than ${MAX_CONTROL_LINE_BYTES} bytes`)
      this.#pump()
    })
  }

  /** Eviction order: 0 nothing of ours pending, 1 a request being served, 2 a subscriber. */
  rank(): number {
    return this.#subs.size > 0 ? 2 : this.#serving > 0 ? 1 : 0
  }

  /** Closes the connection, telling the client why when its replies are all read. */
  close(reason: ControlCloseReason, message?: string): void {
    if (this.#closed) return
    this.#reason = reason
    // An empty queue means the notice goes to the kernel at once; otherwise it would only queue
    // behind replies the client does not read.
    if (message !== undefined && this.#socket.writableLength === 0) this.#send({ id: null, error: { message } })
    this.#socket.destroy()
    this.#finish()
  }

  #finish(): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#idle)
    for (const ac of this.#subs.values()) ac.abort()
    this.#subs.clear()
    this.#buf = ''
    this.#s.closed(this)
    this.#s.events.emit('connection:close', { connection: this.id, reason: this.#reason, requests: this.#requests })
  }

  #progress(): void {
    this.lastProgress = ++this.#s.progress
    this.#idle.refresh()
  }

  #onIdleTimer(): void {
    if (this.#subs.size > 0 || this.#serving > 0) this.#idle.refresh()
    else this.close('idle', `control connection closed: idle for ${this.#s.idleTimeoutMs} ms`)
  }

  #send(obj: unknown): void {
    if (!this.#socket.destroyed) this.#socket.write(`${JSON.stringify(obj)}\n`)
  }

  #blocked(): 'backlog' | 'in-flight' | undefined {
    // writableNeedDrain: a 'drain' is sure to follow (always so above the stream's high-water mark).
    if (this.#socket.writableLength > CONTROL_PAUSE_BACKLOG_BYTES && this.#socket.writableNeedDrain) return 'backlog'
    if (this.#serving >= MAX_CONTROL_REQUESTS_IN_FLIGHT) return 'in-flight'
    return undefined
  }

  /** Serves buffered request lines while not blocked; reads from the socket only while not blocked. */
  #pump(): void {
    if (this.#closed) return
    let why = this.#blocked()
    for (let nl = this.#buf.indexOf('\n', this.#pos); why === undefined && nl >= 0; nl = this.#buf.indexOf('\n', this.#pos)) {
      const line = this.#buf.slice(this.#pos, nl)
      this.#pos = nl + 1
      if (line.trim() === '') continue
      this.#requests++
      this.#serving++
      this.#progress()
      void this.#handle(line).finally(() => {
        this.#serving--
        this.#progress()
        this.#pump()
      })
      why = this.#blocked()
    }
    if (this.#pos > 0) {
      this.#buf = this.#buf.slice(this.#pos)
      this.#pos = 0
    }
    if (why !== this.#pausedFor) {
      if (why !== undefined) {
        this.#socket.pause()
        this.#s.events.emit('connection:pause', { connection: this.id, reason: why, backlogBytes: this.#socket.writableLength, requests: this.#requests })
      } else {
        this.#socket.resume()
        this.#s.events.emit('connection:resume', { connection: this.id, requests: this.#requests })
      }
      this.#pausedFor = why
    }
  }

  async #handle(line: string): Promise<void> {
    let id: unknown = null
    try {
      const req = JSON.parse(line) as unknown
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new Error('a request is a JSON object')
      const r = req as { id?: unknown; method?: unknown; params?: unknown }
      id = typeof r.id === 'number' && Number.isSafeInteger(r.id) ? r.id : null
      if (id === null) throw new Error('"id" must be an integer')
      const params = (typeof r.params === 'object' && r.params !== null ? r.params : {}) as Params
      this.#send({ id, result: await this.#call(String(r.method), params, id as number) })
    } catch (e) {
      this.#send({ id, error: { message: e instanceof Error ? e.message : String(e) } })
    }
  }

  async #call(method: string, p: Params, id: number): Promise<unknown> {
    const node = this.#s.node
    switch (method) {
      case 'status':
        return node.status()
      case 'peers':
        return node.peers()
      case 'topics':
        return node.pubsub.topics()
      case 'publish': {
        const topic = str(p, 'topic')
        if (p.payloadBase64 !== undefined && p.message !== undefined) throw new Error('give "message" or "payloadBase64", not both')
        const payload = p.payloadBase64 !== undefined ? canonicalBase64(p, 'payloadBase64') : new TextEncoder().encode(str(p, 'message', MAX_CONTROL_LINE_BYTES))
        const msgId = await node.pubsub.publish(topic, payload)
        return { id: msgId, topic, bytes: payload.length, publishedAtMs: Date.now() }
      }
      case 'subscribe':
        return this.#subscribe(str(p, 'topic'), id)
      case 'unsubscribe': {
        const sid = p.subscription
        const ac = typeof sid === 'number' ? this.#subs.get(sid) : undefined
        if (ac === undefined) throw new Error('no such subscription')
        ac.abort()
        return { unsubscribed: sid }
      }
      default:
        throw new Error(`unknown method ${JSON.stringify(method)} (status, peers, topics, publish, subscribe, unsubscribe)`)
    }
  }

  #subscribe(topic: string, id: number): { subscribed: string } {
    if (this.#subs.size >= MAX_CONTROL_SUBSCRIPTIONS) throw new Error(`at most ${MAX_CONTROL_SUBSCRIPTIONS} subscriptions per connection`)
    if (this.#subs.has(id)) throw new Error(`request id ${id} is already a subscription`)
    const ac = new AbortController()
    this.#subs.set(id, ac)
    let dropped = 0
    const sub = this.#s.node.pubsub.subscribe(topic, { signal: ac.signal })
    void (async () => {
      for await (const d of sub) {
        // A client that stops reading loses messages (counted in `dropped` of the end event),
        // it does not grow this process's memory.
        if (this.#socket.writableLength > MAX_CONTROL_BACKLOG_BYTES) dropped++
        else this.#send({ id, event: 'message', data: toDelivery(topic, d, Date.now()) })
      }
      this.#subs.delete(id)
      this.#send({ id, event: 'end', data: { dropped: dropped + sub.dropped } })
    })()
    return { subscribed: topic }
  }
}

/** A client of the control endpoint. */
export class ControlClient {
  readonly #socket: Socket
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  readonly #streams = new Map<number, (event: string, data: unknown) => void>()
  #next = 1
  #buf = ''
  #closed: Error | undefined
  #notice: string | undefined

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.#buf += chunk
      for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
        const line = this.#buf.slice(0, nl)
        this.#buf = this.#buf.slice(nl + 1)
        this.#onLine(line)
      }
    })
    const fail = (e: Error): void => {
      this.#closed ??= e
      for (const p of this.#pending.values()) p.reject(this.#closed)
      this.#pending.clear()
      for (const s of this.#streams.values()) s('end', null)
      this.#streams.clear()
    }
    socket.on('error', (e) => fail(e))
    socket.on('close', () => fail(new Error(this.#notice === undefined ? 'the node closed the control connection' : `the node closed the control connection: ${this.#notice}`)))
  }

  /** Connects to the node serving `path`. */
  static connect(path: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path)
      s.once('connect', () => {
        s.off('error', reject)
        resolve(new ControlClient(s))
      })
      s.once('error', reject)
    })
  }

  #onLine(line: string): void {
    let msg: { id?: number | null; result?: unknown; error?: { message?: string }; event?: string; data?: unknown }
    try {
      msg = JSON.parse(line) as typeof msg
    } catch {
      return
    }
    // A notice not tied to a request: why the node is about to close this connection.
    if (msg.id === null && typeof msg.error?.message === 'string') this.#notice = msg.error.message.replace(/^control connection closed: /, '')
    if (typeof msg.id !== 'number') return
    if (msg.event !== undefined) {
      const s = this.#streams.get(msg.id)
      if (s === undefined) return
      if (msg.event === 'end') this.#streams.delete(msg.id)
      s(msg.event, msg.data)
      return
    }
    const p = this.#pending.get(msg.id)
    if (p === undefined) return
    this.#pending.delete(msg.id)
    if (msg.error !== undefined) p.reject(new Error(msg.error.message ?? 'control request failed'))
    else p.resolve(msg.result)
  }

  /** Sends one request and resolves to its result. */
  request<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return this.#request<T>(this.#next++, method, params)
  }

  #request<T>(id: number, method: string, params: Record<string, unknown>): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed)
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#socket.write(`${JSON.stringify({ id, method, params })}\n`)
    })
  }

  /** Subscribes to `topic`; `onMessage` runs for each delivery until the subscription or connection ends. */
  async subscribe(topic: string, onMessage: (d: ControlDelivery) => void, onEnd?: () => void): Promise<void> {
    const id = this.#next++
    this.#streams.set(id, (event, data) => {
      if (event === 'message') onMessage(data as ControlDelivery)
      else if (event === 'end') onEnd?.()
    })
    try {
      await this.#request(id, 'subscribe', { topic })
    } catch (e) {
      this.#streams.delete(id)
      throw e
    }
  }

  close(): void {
    this.#socket.end()
  }
}
