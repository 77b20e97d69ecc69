import { afterEach, describe, expect, it, vi } from 'vitest'
import { TimerSet } from '../src/index.js'

describe('TimerSet', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('runs each timer once at its time and forgets it; clear() cancels the pending ones', () => {
    vi.useFakeTimers()
    const timers = new TimerSet()
    const fired: string[] = []
    timers.schedule(10, () => fired.push('a'))
    timers.schedule(20, () => fired.push('b'))
    timers.schedule(30, () => fired.push('c'))
    expect(timers.size).toBe(3)
    vi.advanceTimersByTime(15)
    expect(fired).toEqual(['a'])
    expect(timers.size).toBe(2)
    timers.clear()
    vi.advanceTimersByTime(100)
    expect(fired).toEqual(['a'])
    expect(timers.size).toBe(0)
  })
})
