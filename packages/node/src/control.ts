// The local control endpoint of a running node (SPEC.md §9): a Unix socket (mode 0600, in a 0700
// directory) speaking JSON lines, so `saorsa-gossip network status`, `pubsub publish`, … and scripts
// can drive a node that runs in another process. Only the socket's owner can connect; every request
// is size-limited and validated; a bad request gets an error reply, never a crash.
import { chmod, mkdir, unlink } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { dirname } from 'node:path'
import type { PubSubDelivery } from '@saorsa-gossip/pubsub'
import type { GossipNode } from './node.js'

/** Longest request or reply line (a 1 MiB message in base64 plus framing). */
export const MAX_CONTROL_LINE_BYTES = 1_500_000
/** Open control connections at once. */
export const MAX_CONTROL_CONNECTIONS = 32
/** Subscriptions per control connection. */
export const MAX_CONTROL_SUBSCRIPTIONS = 64
/** Bytes queued to a control client that does not read; further message events to it are dropped. */
export const MAX_CONTROL_BACKLOG_BYTES = 16 * 1024 * 1024

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

/** A running control server; `close()` stops it and removes the socket. */
export interface ControlServer {
  readonly path: string
  close(): Promise<void>
}

/**
 * Serves `node` on the Unix socket `path`. Fails with a clear message when another live node already
 * serves that path; a stale socket file (nobody listening) is replaced.
 */
export async function startControlServer(node: GossipNode, path: string): Promise<ControlServer> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await chmod(dirname(path), 0o700)
  if (await isLive(path)) throw new Error(`another node is already running with control socket ${path}`)
  await unlink(path).catch(() => undefined)
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    if (sockets.size >= MAX_CONTROL_CONNECTIONS) {
      socket.end(`${JSON.stringify({ id: null, error: { message: 'too many control connections' } })}\n`)
      return
    }
    sockets.add(socket)
    serveConnection(node, socket, () => sockets.delete(socket))
  })
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
  return {
    path,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await unlink(path).catch(() => undefined)
    }
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

function serveConnection(node: GossipNode, socket: Socket, onClose: () => void): void {
  const subs = new Map<number, AbortController>()
  let buf = ''
  const send = (obj: unknown): void => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(obj)}\n`)
  }
  const close = (): void => {
    for (const ac of subs.values()) ac.abort()
    subs.clear()
    onClose()
  }
  socket.setEncoding('utf8')
  socket.on('close', close)
  socket.on('error', () => socket.destroy())
  socket.on('data', (chunk: string) => {
    buf += chunk
    if (buf.length > MAX_CONTROL_LINE_BYTES && !buf.includes('\n')) {
      send({ id: null, error: { message: `request longer than ${MAX_CONTROL_LINE_BYTES} bytes` } })
      socket.destroy()
      return
    }
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.trim() !== '') void handle(line)
    }
  })

  async function handle(line: string): Promise<void> {
    let id: unknown = null
    try {
      const req = JSON.parse(line) as unknown
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new Error('a request is a JSON object')
      const r = req as { id?: unknown; method?: unknown; params?: unknown }
      id = typeof r.id === 'number' && Number.isSafeInteger(r.id) ? r.id : null
      if (id === null) throw new Error('"id" must be an integer')
      const params = (typeof r.params === 'object' && r.params !== null ? r.params : {}) as Params
      send({ id, result: await call(String(r.method), params, id as number) })
    } catch (e) {
      send({ id, error: { message: e instanceof Error ? e.message : String(e) } })
    }
  }

  async function call(method: string, p: Params, id: number): Promise<unknown> {
    switch (method) {
      case 'status':
        return node.status()
      case 'peers':
        return node.peers()
      case 'topics':
        return node.pubsub.topics()
      case 'publish': {
        const topic = str(p, 'topic')
        let payload: Uint8Array
        if (typeof p.payloadBase64 === 'string') payload = Buffer.from(p.payloadBase64, 'base64')
        else payload = new TextEncoder().encode(str(p, 'message', MAX_CONTROL_LINE_BYTES))
        const msgId = await node.pubsub.publish(topic, payload)
        return { id: msgId, topic, bytes: payload.length, publishedAtMs: Date.now() }
      }
      case 'subscribe': {
        const topic = str(p, 'topic')
        if (subs.size >= MAX_CONTROL_SUBSCRIPTIONS) throw new Error(`at most ${MAX_CONTROL_SUBSCRIPTIONS} subscriptions per connection`)
        if (subs.has(id)) throw new Error(`request id ${id} is already a subscription`)
        const ac = new AbortController()
        subs.set(id, ac)
        let dropped = 0
        const sub = node.pubsub.subscribe(topic, { signal: ac.signal })
        void (async () => {
          for await (const d of sub) {
            // A client that stops reading loses messages (counted in `dropped` of the end event),
            // it does not grow this process's memory.
            if (socket.writableLength > MAX_CONTROL_BACKLOG_BYTES) dropped++
            else send({ id, event: 'message', data: toDelivery(topic, d, Date.now()) })
          }
          subs.delete(id)
          send({ id, event: 'end', data: { dropped: dropped + sub.dropped } })
        })()
        return { subscribed: topic }
      }
      case 'unsubscribe': {
        const sid = p.subscription
        const ac = typeof sid === 'number' ? subs.get(sid) : undefined
        if (ac === undefined) throw new Error('no such subscription')
        ac.abort()
        return { unsubscribed: sid }
      }
      default:
        throw new Error(`unknown method ${JSON.stringify(method)} (status, peers, topics, publish, subscribe, unsubscribe)`)
    }
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
    socket.on('close', () => fail(new Error('the node closed the control connection')))
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
    let msg: { id?: number; result?: unknown; error?: { message?: string }; event?: string; data?: unknown }
    try {
      msg = JSON.parse(line) as typeof msg
    } catch {
      return
    }
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
