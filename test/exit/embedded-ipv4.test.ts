/**
 * IPv4 addresses carried inside IPv6 addresses: every form R12 names, read at the right
 * bits, in every text spelling, and nothing found where there is nothing.
 */
import t from 'tap'
import { embeddedIpv4, embeddedIpv4Addresses, type EmbeddingForm } from '../../src/exit/embedded-ipv4.js'
import { parseIpAddress } from '../../src/exit/ip-address.js'

function forms (literal: string): Array<[EmbeddingForm, string]> {
  const address = parseIpAddress(literal)
  if (address === undefined) throw new Error(`${literal} should parse`)
  return embeddedIpv4(address).map((e) => [e.form, e.address.text])
}

t.test('IPv4-mapped, in both spellings', async (t) => {
  t.same(forms('::ffff:127.0.0.1'), [['ipv4-mapped', '127.0.0.1']])
  t.same(forms('::ffff:7f00:1'), [['ipv4-mapped', '127.0.0.1']])
  t.same(forms('0:0:0:0:0:FFFF:0A00:0001'), [['ipv4-mapped', '10.0.0.1']])
})

t.test('IPv4-compatible (deprecated ::/96), but not :: and ::1 (RFC 4291 §2.5.2-3)', async (t) => {
  t.same(forms('::127.0.0.1'), [['ipv4-compatible', '127.0.0.1']])
  t.same(forms('::7f00:1'), [['ipv4-compatible', '127.0.0.1']])
  t.same(forms('::2'), [['ipv4-compatible', '0.0.0.2']])
  t.same(forms('::'), [])
  t.same(forms('::1'), [])
})

t.test('IPv4-translated (SIIT ::ffff:0:0:0/96)', async (t) => {
  t.same(forms('::ffff:0:a9fe:a9fe'), [['ipv4-translated', '169.254.169.254']])
})

t.test('NAT64 well-known prefix 64:ff9b::/96', async (t) => {
  t.same(forms('64:ff9b::7f00:1'), [['nat64', '127.0.0.1']])
  t.same(forms('64:ff9b::10.0.0.1'), [['nat64', '10.0.0.1']])
  t.same(forms('64:ff9b:0:0:0:1:a00:1'), [], 'not in the /96: nothing embedded there')
})

t.test('NAT64 local-use 64:ff9b:1::/48: the RFC 6052 /48 position, and the longer ones', async (t) => {
  // RFC 6052 §2.4's example (192.0.2.33 under a /48) moved to the local-use prefix.
  const found = forms('64:ff9b:1:c000:2:2100::')
  t.same(found[0], ['nat64-local', '192.0.2.33'], '/48: bits 48..63 and 72..87')
  t.equal(found.length, 4, '/48, /56, /64 and /96 positions')
  // The same example at RFC 6052's /56, /64 and /96 positions, under prefixes inside the /48.
  t.same(forms('64:ff9b:1:3c0:0:221::')[1], ['nat64-local', '192.0.2.33'], '/56: bits 56..63 and 72..95')
  t.same(forms('64:ff9b:1:344:c0:2:2100::')[2], ['nat64-local', '192.0.2.33'], '/64: bits 72..103')
  t.same(forms('64:ff9b:1:344::192.0.2.33')[3], ['nat64-local', '192.0.2.33'], '/96: bits 96..127')
})

t.test('6to4 2002::/16 carries bits 16..47', async (t) => {
  t.same(forms('2002:7f00:1::1'), [['6to4', '127.0.0.1']])
  t.same(forms('2002:c000:0204::1'), [['6to4', '192.0.2.4']])
})

t.test('Teredo 2001::/32: server in bits 32..63, client inverted in the last 32 bits', async (t) => {
  // RFC 4380 §4's example: server 65.54.227.120, client 192.0.2.45 port 40000.
  t.same(forms('2001:0000:4136:e378:8000:63bf:3fff:fdd2'),
    [['teredo-server', '65.54.227.120'], ['teredo-client', '192.0.2.45']])
  // Client 127.0.0.1, obfuscated as 80ff:fffe.
  t.same(forms('2001:0:4136:e378:8000:63bf:80ff:fffe'),
    [['teredo-server', '65.54.227.120'], ['teredo-client', '127.0.0.1']])
})

t.test('ordinary addresses carry nothing', async (t) => {
  for (const text of ['2606:4700::1111', '2001:db8::1', '2001:1:4136:e378::1', 'fe80::1', '93.184.216.34', '2003::1']) {
    t.same(forms(text), [], text)
  }
})

t.test('embeddedIpv4Addresses lists distinct dotted quads; [] for non-literals', async (t) => {
  t.same(embeddedIpv4Addresses('::ffff:7f00:1'), ['127.0.0.1'])
  t.same(embeddedIpv4Addresses('2001:0:7f00:1:0:0:80ff:fffe'), ['127.0.0.1'], 'server and client are the same')
  t.same(embeddedIpv4Addresses('127.0.0.1'), [])
  t.same(embeddedIpv4Addresses('example.com'), [])
  t.same(embeddedIpv4Addresses('::ffff:127.0.0.1%lo'), [], 'a zone makes it no literal we accept')
})
