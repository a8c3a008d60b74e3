/**
 * The exit refuses the cascade and itself (R12, issue #10; PROTOCOL.md §11.3): hop names
 * are resolved at start with the exit's own resolver and an unresolvable one stops the
 * start; a hop named by a host name is refused like one named by its address; the exit's
 * admin and publish ports are refused even where the operator opened loopback; this host's
 * interface addresses are refused, and no operator rule reopens a public one.
 */
import t from 'tap'
import { cryptoReady, x25519KeyPair } from '../../src/crypto/index.js'
import { makeCascade } from '../../src/directory/cascade.js'
import { MixgateError } from '../../src/errors.js'
import { interfaceAddresses, ownAddresses, ownServices } from '../../src/exit/own-addresses.js'
import { buildExitPolicy } from '../../src/exit/policy.js'
import { PinnedResolver } from '../../src/exit/resolver.js'
import { runExit } from '../../src/exit/run-exit.js'
import { epochSchedule } from '../../src/protocol/epoch.js'
import { ephemeralOnionKeys } from '../../src/node/keys/onion-key-source.js'
import { EndReason } from '../../src/protocol/end-reason.js'
import { freePort, memoryLogger } from '../helpers/cascade.js'
import { startTcpTarget } from '../helpers/targets.js'
import { startDnsServer } from './helpers/dns-server.js'
import { startExitCascade } from './helpers/exit-cascade.js'

await cryptoReady()

/** A public address (not special-purpose) the tests only ever check, never connect to. */
const PUBLIC = '93.184.216.34'

t.test('an exit whose cascade names a hop by an unresolvable host name does not start', async (t) => {
  const dns = await startDnsServer({})
  t.teardown(() => dns.close())
  const schedule = epochSchedule({ epochS: 3600, genesisS: 0 })
  const keys = ephemeralOnionKeys({ schedule })
  t.teardown(() => keys.close())
  const cascade = makeCascade({
    cellSize: 1024,
    roundMs: 10,
    hops: [
      { role: 'mix', address: { host: 'gone.mixgate.example', port: 9001 }, linkKey: x25519KeyPair().publicKey, onionKeys: keys.publicKeys() },
      { role: 'exit', address: { host: '127.0.0.1', port: await freePort() }, linkKey: x25519KeyPair().publicKey, onionKeys: keys.publicKeys() },
    ],
  })
  let started: Awaited<ReturnType<typeof runExit>> | undefined
  try {
    started = await runExit({ cascade, linkKey: x25519KeyPair(), onionKeys: keys, logger: memoryLogger().logger, exitPolicy: [], dnsServers: [dns.server] })
    t.fail('the exit started')
  } catch (err) {
    t.ok(err instanceof MixgateError)
    t.equal((err as MixgateError).code, 'EXIT_OWN_ADDRESS_UNRESOLVED')
    t.match((err as Error).message, /hop 1 of the cascade is named "gone\.mixgate\.example"/)
  } finally {
    await started?.stop()
  }
  t.ok(dns.questions.some((q) => q.name === 'gone.mixgate.example'), 'it asked the exit\'s own DNS server')
})

t.test('a hop named by a host name is refused at its address, even with loopback opened', async (t) => {
  const target = await startTcpTarget(t, (socket) => socket.pipe(socket))
  const dns = await startDnsServer({ 'mix.mixgate.example': { a: ['127.0.0.1'] } })
  t.teardown(() => dns.close())
  const c = await startExitCascade({ mixName: 'mix.mixgate.example', dnsServers: [dns.server] })
  t.teardown(() => c.stop())
  const streams = await c.open()
  streams.begin(1, '127.0.0.1', c.mixPort)
  t.equal(await streams.answer(1), EndReason.EXIT_POLICY, 'the mix\'s port is refused')
  streams.begin(2, '127.0.0.1', target.port)
  t.equal(await streams.answer(2), 'connected', 'the rest of loopback is still open (accept 127.0.0.1:*)')
})

t.test('the exit\'s admin and publish ports are refused, even with loopback opened', async (t) => {
  const admin = await startTcpTarget(t, (socket) => socket.destroy())
  const publish = await startTcpTarget(t, (socket) => socket.destroy())
  const c = await startExitCascade({
    services: [
      { what: 'the admin address', address: { host: 'localhost', port: admin.port } },
      { what: 'the publish address', address: { host: '0.0.0.0', port: publish.port } },
    ],
  })
  t.teardown(() => c.stop())
  const streams = await c.open()
  streams.begin(1, '127.0.0.1', admin.port)
  streams.begin(2, 'localhost', admin.port)
  streams.begin(3, '127.0.0.1', publish.port)
  t.equal(await streams.answer(1), EndReason.EXIT_POLICY)
  t.equal(await streams.answer(2), EndReason.EXIT_POLICY)
  t.equal(await streams.answer(3), EndReason.EXIT_POLICY, 'a service on 0.0.0.0 is refused at every local address')
  t.equal(admin.sockets.length + publish.sockets.length, 0, 'nothing reached them')
})

t.test('this host\'s interface addresses are refused; a public one and the public nodes stay refused whatever the operator accepts', async (t) => {
  const resolver = new PinnedResolver({ servers: ['127.0.0.1:9'], timeoutMs: 1000 })
  const cascade = makeCascade({
    cellSize: 1024,
    roundMs: 10,
    hops: [
      { role: 'mix', address: { host: '198.51.100.1', port: 9001 }, linkKey: x25519KeyPair().publicKey, onionKey: x25519KeyPair().publicKey },
      { role: 'mix', address: { host: '8.8.4.4', port: 9001 }, linkKey: x25519KeyPair().publicKey, onionKey: x25519KeyPair().publicKey },
      { role: 'exit', address: { host: PUBLIC, port: 9001 }, linkKey: x25519KeyPair().publicKey, onionKey: x25519KeyPair().publicKey },
    ],
  })
  const local = interfaceAddresses()
  t.ok(local.length > 0, 'the host has interfaces')
  const own = await ownAddresses(ownServices(cascade, []), [...local, '203.0.113.9', '2606:4700::1111'], resolver)
  const policyWith = (operatorRules: string[]): ReturnType<typeof buildExitPolicy> => buildExitPolicy({ operatorRules: [...own.firstRules, ...operatorRules], cascadeAddresses: own.addresses })

  const byDefault = policyWith([])
  for (const address of local) {
    const ip = address.split('%')[0]!
    t.notOk(byDefault.allows(ip, 443), `interface address ${ip} is refused`)
  }
  const openEverything = policyWith(['accept *:*'])
  t.notOk(openEverything.allows(PUBLIC, 443), 'the exit\'s own public address stays refused under accept *:*')
  t.notOk(openEverything.allows(PUBLIC, 9001), 'and its link port')
  t.notOk(openEverything.allows('8.8.4.4', 53), 'so does a public mix')
  t.notOk(openEverything.allows('2606:4700::1111', 443), 'and a public IPv6 interface address')
  t.notOk(openEverything.allows('::ffff:8.8.4.4', 53), 'in its IPv4-mapped form too')
  t.notOk(openEverything.allows('198.51.100.1', 9001), 'every node\'s link port')
  t.ok(openEverything.allows('198.51.100.1', 443), 'a special-purpose node address opens only where the operator opens it')
  t.ok(openEverything.allows('8.8.8.8', 443), 'other hosts are untouched')
})
