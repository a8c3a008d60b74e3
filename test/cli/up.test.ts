/**
 * `mixgate up` as a user runs it: a child process, a SOCKS5 port on a free port, curl
 * through it to a local server, Ctrl-C.
 */
import t from 'tap'
import { curlThrough, runCli, startCli } from './spawn-cli.js'
import { startHttpServer } from './http-fixture.js'

const READY = /^mixgate: SOCKS5 proxy listening on (127\.0\.0\.1:(\d+)) \((\d+) mix(?:es)? \+ exit\)\n/

t.test('up --socks 127.0.0.1:0 prints the real port, carries a page intact, and exits 0 on SIGINT', async (t) => {
  const http = await startHttpServer(t)
  const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--mixes', '2', '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'warn'])
  const ready = await up.waitForStdout(/try: .*\n/)
  const first = READY.exec(up.stdout())
  t.ok(first, 'the first line says where the SOCKS5 port is')
  const socks = first![1]!
  t.not(first![2], '0', 'the real port is printed, not 0')
  t.equal(first![3], '2', 'with the number of mixes')
  t.equal(ready[0], `try: curl --socks5-hostname ${socks} https://example.org/\n`, 'the second line is an example curl line')
  t.equal(up.stdout().split('\n').length, 3, 'nothing else on standard output')

  const got = await curlThrough(socks, `http://localhost:${http.port}/body`)
  t.ok(got.equals(http.body), 'the body arrives intact')

  const exit = await up.stop('SIGINT')
  t.same(exit, { code: 0, signal: null }, 'SIGINT stops everything with status 0')
})

t.test('the default policy still refuses loopback without --exit-policy', async (t) => {
  const http = await startHttpServer(t, 10)
  const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--mixes', '1', '--log-level', 'warn'])
  await up.waitForStdout(/try: .*\n/)
  const socks = READY.exec(up.stdout())![1]!
  await t.rejects(curlThrough(socks, `http://127.0.0.1:${http.port}/body`), 'curl fails: the exit refuses 127.0.0.1')
  t.same(await up.stop('SIGTERM'), { code: 0, signal: null }, 'SIGTERM also exits 0')
})

t.test('a SOCKS port already in use: status 1, the address and the reason on standard error', async (t) => {
  const http = await startHttpServer(t, 10)
  const { code, stdout, stderr } = await runCli(['up', '--socks', `127.0.0.1:${http.port}`, '--mixes', '1', '--log-level', 'error'])
  t.equal(code, 1)
  t.equal(stdout, '', 'no ready line')
  t.equal(stderr, `mixgate: cannot listen for SOCKS5 connections on 127.0.0.1:${http.port}: the address is already in use (EADDRINUSE)\n`)
})
