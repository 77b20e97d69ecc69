// A hand-driven peer for tests: runs the real initiator handshake over a raw outer connection, then
// lets the test write whatever frames it likes (or never read), to play a faulty or hostile peer.
import { createVerifier } from '@saorsa-gossip/identity'
import type { Identity } from '@saorsa-gossip/identity'
import { CHANNELS, FrameSealer, HandshakeInitiator, MAX_HANDSHAKE_MESSAGE_BYTES, PROTOCOLS } from '../src/index.js'
import type { Channel, FrameStream, OuterConnection, Session } from '../src/index.js'

export interface ManualLink {
  session: Session
  streams: Record<Channel, FrameStream>
  sealers: Record<Channel, FrameSealer>
}

async function next(it: AsyncIterator<Uint8Array>): Promise<Uint8Array> {
  const r = await it.next()
  if (r.done === true) throw new Error('stream ended')
  return r.value
}

/**
 * Handshakes as `identity` over `conn`. With `forgeSignature`, flips a bit of our M3 signature (the
 * responder must refuse it). Returns after M4, with the channel streams opened.
 */
export async function manualConnect(conn: OuterConnection, identity: Identity, opts: { forgeSignature?: boolean } = {}): Promise<ManualLink> {
  const init = new HandshakeInitiator({ identity, verifier: createVerifier(), localTransportId: conn.localTransportId, remoteTransportId: conn.remoteTransportId })
  const hs = await conn.openStream(PROTOCOLS.handshake)
  const it = hs.frames(MAX_HANDSHAKE_MESSAGE_BYTES)[Symbol.asyncIterator]()
  await hs.write(init.start())
  const m3 = init.onM2(await next(it))
  if (opts.forgeSignature === true) m3[m3.length - 50] = (m3[m3.length - 50]! ^ 1) & 0xff
  await hs.write(m3)
  const session = init.onM4(await next(it))
  const streams = {} as Record<Channel, FrameStream>
  const sealers = {} as Record<Channel, FrameSealer>
  for (const c of CHANNELS) {
    streams[c] = await conn.openStream(PROTOCOLS[c])
    await streams[c].write(session.transcriptHash)
    sealers[c] = new FrameSealer(session.keys[c].send, c)
  }
  return { session, streams, sealers }
}
