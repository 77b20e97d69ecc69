// Typed events in the js-libp2p style: an EventTarget whose events are CustomEvents with a typed
// `detail`, named `noun:verb`. Works in Node and browsers. A listener added with `on()` that throws is
// caught and reported through `onListenerError` (Node would otherwise turn it into an uncaught
// exception and end the process).

/** Map from event name to the type of its `detail` (an interface of `name: Detail` members). */
export type EventDetailMap = object

/** An EventTarget whose `addEventListener` knows the detail type of each event. */
export class TypedEventEmitter<Events extends EventDetailMap> extends EventTarget {
  /** Called with any error a listener throws (default: console.error). */
  onListenerError: (error: unknown, type: string) => void = (error, type) => {
    console.error(`listener for ${type} threw`, error)
  }

  /** Listens to `type`; returns a function that removes the listener. */
  on<K extends keyof Events & string>(type: K, listener: (detail: Events[K]) => void): () => void {
    const wrapped = (e: Event): void => {
      try {
        listener((e as CustomEvent<Events[K]>).detail)
      } catch (err) {
        this.onListenerError(err, type)
      }
    }
    this.addEventListener(type, wrapped)
    return () => this.removeEventListener(type, wrapped)
  }

  /** Resolves with the detail of the next `type` event that satisfies `filter` (rejects on abort). */
  once<K extends keyof Events & string>(
    type: K,
    filter: (detail: Events[K]) => boolean = () => true,
    options: { signal?: AbortSignal } = {}
  ): Promise<Events[K]> {
    return new Promise((resolve, reject) => {
      const signal = options.signal
      if (signal?.aborted === true) return reject(signal.reason)
      const off = this.on(type, (d) => {
        if (!filter(d)) return
        off()
        signal?.removeEventListener('abort', onAbort)
        resolve(d)
      })
      const onAbort = (): void => {
        off()
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Dispatches `type` with `detail`; returns false if a listener called preventDefault. */
  emit<K extends keyof Events & string>(type: K, detail: Events[K]): boolean {
    return this.dispatchEvent(new CustomEvent(type, { detail }))
  }
}
