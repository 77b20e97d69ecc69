import type { Identity } from '@saorsa-gossip/identity'
import { MemoryNetwork } from '../src/index.js'
import type { MemoryTransport, OuterConnection, PqLinksInit, Transport } from '../src/index.js'
import { transportCompliance } from './compliance.js'

transportCompliance('MemoryTransport', () => {
  const net = new MemoryNetwork()
  const made: MemoryTransport[] = []
  let raw = 0
  return {
    async create(identity: Identity, init?: PqLinksInit) {
      const t = net.createTransport({ identity }, init)
      await t.start()
      made.push(t)
      return t
    },
    async rawConnect(target: Transport): Promise<OuterConnection> {
      const addr = `memory://raw-${++raw}`
      return net.connect({ addr, transportId: new TextEncoder().encode(addr), onInbound: (_c, _p, s) => s.abort(new Error('raw peer accepts no streams')), onClosed: () => {} }, target.listenAddrs()[0] as string)
    },
    async teardown() {
      for (const t of made) await t.stop()
    }
  }
})
