/**
 * A tiny authoritative DNS server on 127.0.0.1 for the exit tests: answers A, AAAA and PTR
 * queries for the names it is given (a PTR under its reverse name, `4.3.2.1.in-addr.arpa`;
 * its target is sent as raw labels, so a test can serve one no host name has), NXDOMAIN
 * for every other name, and records every
 * question it receives, so tests can see exactly what the resolver asked (and that it
 * asked at all). `silent` makes it drop every query, `drop` the queries for some names,
 * for timeout tests.
 */
import dgram from 'node:dgram'

export interface DnsRecords {
  readonly a?: readonly string[]
  readonly aaaa?: readonly string[]
  /** PTR targets, each a dotted name whose labels go out byte for byte (latin1). */
  readonly ptr?: readonly string[]
}

export interface Question {
  readonly name: string
  readonly type: number
}

export interface TestDnsServer {
  /** `127.0.0.1:PORT`, as dns.setServers takes it. */
  readonly server: string
  readonly questions: Question[]
  close (): Promise<void>
}

export const TYPE_A = 1
export const TYPE_AAAA = 28
export const TYPE_PTR = 12

const RCODE_NXDOMAIN = 3

export async function startDnsServer (
  records: Readonly<Record<string, DnsRecords>>,
  options: { silent?: boolean, drop?: readonly string[], delayMs?: (name: string) => number } = {}
): Promise<TestDnsServer> {
  const socket = dgram.createSocket('udp4')
  const questions: Question[] = []
  socket.on('message', (query, peer) => {
    const parsed = parseQuery(query)
    if (parsed === undefined) return
    questions.push({ name: parsed.name, type: parsed.type })
    if (options.silent === true || options.drop?.includes(parsed.name.toLowerCase()) === true) return
    const entry = records[parsed.name.toLowerCase()]
    const rdata: Buffer[] = []
    if (entry !== undefined && parsed.type === TYPE_A) for (const a of entry.a ?? []) rdata.push(ipv4Bytes(a))
    if (entry !== undefined && parsed.type === TYPE_AAAA) for (const a of entry.aaaa ?? []) rdata.push(ipv6Bytes(a))
    if (entry !== undefined && parsed.type === TYPE_PTR) for (const name of entry.ptr ?? []) rdata.push(nameBytes(name))
    const reply = buildReply(query, parsed.questionEnd, parsed.type, entry === undefined ? RCODE_NXDOMAIN : 0, rdata)
    const delay = options.delayMs?.(parsed.name.toLowerCase()) ?? 0
    if (delay === 0) socket.send(reply, peer.port, peer.address)
    else setTimeout(() => socket.send(reply, peer.port, peer.address), delay)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {
    server: `127.0.0.1:${socket.address().port}`,
    questions,
    close: async () => await new Promise<void>((resolve) => socket.close(() => resolve())),
  }
}

function parseQuery (query: Buffer): { name: string, type: number, questionEnd: number } | undefined {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined
  const labels: string[] = []
  let offset = 12
  while (offset < query.length) {
    const length = query[offset]!
    offset += 1
    if (length === 0) break
    if (length > 63 || offset + length > query.length) return undefined
    labels.push(query.subarray(offset, offset + length).toString('latin1'))
    offset += length
  }
  if (offset + 4 > query.length) return undefined
  return { name: labels.join('.'), type: query.readUInt16BE(offset), questionEnd: offset + 4 }
}

function buildReply (query: Buffer, questionEnd: number, type: number, rcode: number, rdata: Buffer[]): Buffer {
  const header = Buffer.alloc(12)
  header.writeUInt16BE(query.readUInt16BE(0), 0) // id
  const recursionDesired = query.readUInt16BE(2) & 0x0100
  header.writeUInt16BE(0x8000 | 0x0400 | recursionDesired | 0x0080 | rcode, 2) // QR AA RD RA
  header.writeUInt16BE(1, 4) // one question
  header.writeUInt16BE(rdata.length, 6)
  const answers = rdata.map((data) => {
    const answer = Buffer.alloc(12 + data.length)
    answer.writeUInt16BE(0xc00c, 0) // name: pointer to the question
    answer.writeUInt16BE(type, 2)
    answer.writeUInt16BE(1, 4) // class IN
    answer.writeUInt32BE(300, 6) // TTL
    answer.writeUInt16BE(data.length, 10)
    data.copy(answer, 12)
    return answer
  })
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers])
}

/** A domain name in wire form: length-prefixed labels, then the root. */
function nameBytes (name: string): Buffer {
  const labels = name.split('.').filter((label) => label !== '').map((label) => Buffer.from(label, 'latin1'))
  return Buffer.concat([...labels.flatMap((label) => [Buffer.from([label.length]), label]), Buffer.from([0])])
}

function ipv4Bytes (text: string): Buffer {
  return Buffer.from(text.split('.').map(Number))
}

/** Hex groups with at most one `::` (no dotted tail): enough for test data. */
function ipv6Bytes (text: string): Buffer {
  const [head, tail] = text.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right]
  const bytes = Buffer.alloc(16)
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), 2 * i))
  return bytes
}
