/**
 * The exit's limiters as units: Slots (a capped count with refusals) and the DNS query cap in
 * front of a resolver (query-limit.ts). The resolver behind it is a test one whose answers
 * the test releases, so "in flight" is exact.
 */
import t from 'tap'
import { QueryLimitedResolver } from '../../src/exit/query-limit.js'
import type { HostResolver, ResolveResult } from '../../src/exit/resolver.js'
import { Slots } from '../../src/exit/slots.js'
import { EndReason } from '../../src/protocol/end-reason.js'

/** A resolver whose every answer waits for `answerAll()`; it records the names it was asked. */
function heldResolver (): HostResolver & { asked: string[], answerAll (): void } {
  const waiting: Array<() => void> = []
  const asked: string[] = []
  return {
    asked,
    answerAll: () => { for (const answer of waiting.splice(0)) answer() },
    resolve: async (host) => {
      asked.push(host)
      return await new Promise<ResolveResult>((resolve) => waiting.push(() => resolve({ ok: true, addresses: ['192.0.2.1'] })))
    },
  }
}

t.test('Slots: takes up to the limit, counts refusals, gives back', async (t) => {
  const slots = new Slots(2)
  t.ok(slots.tryTake())
  t.ok(slots.tryTake())
  t.notOk(slots.tryTake(), 'the third is refused')
  t.equal(slots.refused, 1)
  t.equal(slots.active, 2)
  slots.release()
  t.ok(slots.tryTake(), 'a released slot is free again')
  t.equal(slots.active, 2)
})

t.test('at most maxDnsQueries queries run at once; the rest fail at once with RESOURCE_LIMIT', async (t) => {
  const inner = heldResolver()
  const slots = new Slots(2)
  const resolver = new QueryLimitedResolver(inner, slots)
  const first = resolver.resolve('a.example')
  const second = resolver.resolve('b.example')
  t.same(await resolver.resolve('c.example'), { ok: false, reason: EndReason.RESOURCE_LIMIT }, 'a third query is refused without waiting')
  t.same(inner.asked, ['a.example', 'b.example'], 'and never reaches the resolver')
  t.equal(slots.active, 2)
  t.equal(slots.refused, 1)

  inner.answerAll()
  t.same(await first, { ok: true, addresses: ['192.0.2.1'] })
  await second
  t.equal(slots.active, 0, 'answers give their slots back')
  const third = resolver.resolve('c.example')
  inner.answerAll()
  t.ok((await third).ok)
})

t.test('names that need no query take no slot', async (t) => {
  const inner = heldResolver()
  const slots = new Slots(0)
  const resolver = new QueryLimitedResolver(inner, slots)
  for (const host of ['192.0.2.7', '[2001:db8::1]', '2001:db8::1', 'localhost', 'www.localhost']) {
    const answer = resolver.resolve(host)
    inner.answerAll()
    t.ok((await answer).ok, `${host} passes with the cap at 0`)
  }
  t.equal(slots.refused, 0)
  t.same(await resolver.resolve('example.org'), { ok: false, reason: EndReason.RESOURCE_LIMIT })
})

t.test('a failing resolver still gives its slot back', async (t) => {
  const slots = new Slots(1)
  const resolver = new QueryLimitedResolver({ resolve: async () => { throw new Error('boom') } }, slots)
  await t.rejects(resolver.resolve('a.example'))
  t.equal(slots.active, 0)
})
