// `saorsa-gossip pubsub subscribe|publish|list`: topic messaging through a running node.
import type { ControlDelivery } from '@saorsa-gossip/node'
import { Command } from 'commander'
import { createContext } from '../context.js'
import type { CliIo, GlobalOptions } from '../context.js'
import { CliError } from '../errors.js'
import { untilSignal } from './network.js'
import { connectToNode, requestNode } from './running.js'

export function pubsubCommand(io: CliIo, globals: () => GlobalOptions): Command {
  const cmd = new Command('pubsub').description('publish and subscribe to topics through the running node')
  const ctxOf = () => createContext(globals(), io)

  cmd
    .command('subscribe')
    .description('print messages on a topic as they arrive, until Ctrl-C')
    .requiredOption('-t, --topic <name>', 'topic name')
    .option('-i, --identity <alias>', 'which running node (default: the only one)')
    .option('--json', 'print one JSON object per message')
    .action(async (o: { topic: string; identity?: string; json?: boolean }) => {
      const ctx = ctxOf()
      const { client, alias } = await connectToNode(ctx.home, o.identity)
      const stop = untilSignal()
      let ended: () => void = () => {}
      const nodeGone = new Promise<string>((resolve) => {
        ended = () => resolve('node-stopped')
      })
      await client.subscribe(
        o.topic,
        (d: ControlDelivery) => {
          if (o.json === true) return ctx.out(JSON.stringify(d))
          const text = d.message ?? `(${Buffer.from(d.payloadBase64, 'base64').length} bytes, not UTF-8: ${d.payloadBase64.slice(0, 44)})`
          ctx.out(`[${d.topic}] ${d.from.slice(0, 8)}…: ${text}  (${d.receivedAtMs - d.timestampMs} ms, ${d.hops} hops)`)
        },
        ended
      )
      ctx.err(`Subscribed to ${o.topic} on node ${alias}; Ctrl-C to stop`)
      const why = await Promise.race([stop, nodeGone])
      client.close()
      if (why === 'node-stopped') throw new CliError(`node ${alias} stopped; subscription ended`)
    })

  cmd
    .command('publish')
    .description('sign and broadcast one message on a topic')
    .requiredOption('-t, --topic <name>', 'topic name')
    .requiredOption('-m, --message <text>', 'message (UTF-8 text)')
    .option('-i, --identity <alias>', 'which running node (default: the only one)')
    .option('--json', 'print JSON')
    .action(async (o: { topic: string; message: string; identity?: string; json?: boolean }) => {
      const ctx = ctxOf()
      const { result: r } = await requestNode<{ id: string; topic: string; bytes: number }>(ctx.home, o.identity, 'publish', { topic: o.topic, message: o.message })
      if (o.json === true) ctx.out(JSON.stringify(r))
      else ctx.out(`✓ Published ${r.bytes} bytes on ${r.topic} (message id ${r.id})`)
    })

  cmd
    .command('list')
    .description('list the topics the running node is subscribed to')
    .option('-i, --identity <alias>', 'which running node (default: the only one)')
    .option('--json', 'print JSON')
    .action(async (o: { identity?: string; json?: boolean }) => {
      const ctx = ctxOf()
      const { result: topics } = await requestNode<string[]>(ctx.home, o.identity, 'topics')
      if (o.json === true) ctx.out(JSON.stringify(topics))
      else if (topics.length === 0) ctx.out('No subscriptions')
      else for (const t of topics) ctx.out(t)
    })
  return cmd
}
