/**
 * Config and key files on disk: every failure names the file and why, and never quotes
 * what the file holds.
 */
import t from 'tap'
import { join } from 'node:path'
import { symlink } from 'node:fs/promises'
import { cryptoReady } from '../../src/crypto/index.js'
import { ConfigError } from '../../src/base/config-error.js'
import { loadConfigFile, MAX_CONFIG_BYTES, readKeyFile } from '../../src/base/config-file.js'
import { hex, hostPort, int, obj } from '../../src/base/schema.js'

const spec = obj({
  roundMs: int({ min: 1, max: 10000, default: 100 }),
  successor: obj({ address: hostPort(), linkKey: hex(32) }),
})
const KEY_HEX = '5e'.repeat(32)

// The file reader wipes its buffers with the crypto backend's memzero.
await cryptoReady()

/** The ConfigError `promise` rejects with (fails the test otherwise). */
async function configError (promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('a valid file is read, parsed and validated into a typed config', async (t) => {
  const dir = t.testdir({
    'mix.json': JSON.stringify({ successor: { address: '[::1]:4000', linkKey: KEY_HEX } }, null, 2),
    'bom.json': '\uFEFF' + JSON.stringify({ successor: { address: 'a:1', linkKey: KEY_HEX } }),
  })
  const config = await loadConfigFile(join(dir, 'mix.json'), spec)
  t.equal(config.roundMs, 100)
  t.same(config.successor.address, { host: '::1', port: 4000 })
  t.equal(config.successor.linkKey.length, 32)
  t.equal((await loadConfigFile(join(dir, 'bom.json'), spec)).successor.address.port, 1, 'a byte-order mark is skipped')
})

t.test('a missing file names the path and the OS reason', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'nope.json')
  const err = await configError(loadConfigFile(path, spec))
  t.equal(err.code, 'CONFIG_UNREADABLE')
  t.equal(err.exitCode, 2)
  t.equal(err.file, path)
  t.equal(err.message, `cannot read config file ${JSON.stringify(path)}: no such file or directory (ENOENT)`)
})

t.test('a directory, a dangling symlink and an oversized file are refused by name', async (t) => {
  const dir = t.testdir({ 'conf.d': {}, 'big.json': ' '.repeat(MAX_CONFIG_BYTES + 1) })
  await symlink(join(dir, 'gone'), join(dir, 'dangling.json'))
  t.match((await configError(loadConfigFile(join(dir, 'conf.d'), spec))).message, /conf\.d": it is a directory \(EISDIR\)$/)
  t.match((await configError(loadConfigFile(join(dir, 'dangling.json'), spec))).message, /dangling\.json": no such file or directory \(ENOENT\)$/)
  t.match((await configError(loadConfigFile(join(dir, 'big.json'), spec))).message, /big\.json": larger than 1048576 bytes$/)
})

t.test('bad JSON is reported with line and column, without quoting the file', async (t) => {
  const dir = t.testdir({
    'bad.json': `{\n  "successor": {\n    "linkKey": "${KEY_HEX}"\n    "address": "a:1"\n  }\n}\n`,
    'latin1.bin': Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]),
  })
  const path = join(dir, 'bad.json')
  const err = await configError(loadConfigFile(path, spec))
  t.equal(err.code, 'CONFIG_SYNTAX')
  t.equal(err.message, `config file ${JSON.stringify(path)} is not valid JSON: line 4, column 5: unexpected character "\\"", expected "," or "}"`)
  t.notMatch(err.message, /5e5e/, 'key material is not quoted')
  const latin1 = await configError(loadConfigFile(join(dir, 'latin1.bin'), spec))
  t.match(latin1.message, /is not valid UTF-8 text$/)
})

t.test('schema problems list every issue under the file name', async (t) => {
  const dir = t.testdir({ 'mix.json': JSON.stringify({ rondMs: 5, successor: { address: 'foo', linkKey: 'ab' } }) })
  const path = join(dir, 'mix.json')
  const err = await configError(loadConfigFile(path, spec))
  t.equal(err.code, 'CONFIG_INVALID')
  t.equal(err.file, path)
  t.same(err.issues.map((i) => i.path), ['rondMs', 'successor.address', 'successor.linkKey'])
  t.equal(err.message, [
    `config file ${JSON.stringify(path)} is invalid:`,
    '  unknown config field "rondMs" (did you mean "roundMs"?)',
    '  config field "successor.address": expected HOST:PORT, got "foo"',
    '  config field "successor.linkKey": expected 32 bytes as 64 hex digits, got 2 characters',
  ].join('\n'))
})

t.test('key files: raw bytes or hex text, as a fresh Uint8Array', async (t) => {
  const raw = Buffer.alloc(32, 0xf1)
  const dir = t.testdir({
    raw: raw,
    'hex.txt': `${KEY_HEX.toUpperCase()}\n`,
    'hex-crlf.txt': `  ${KEY_HEX}\r\n`,
  })
  const fromRaw = await readKeyFile(join(dir, 'raw'), 32)
  t.ok(fromRaw instanceof Uint8Array && !Buffer.isBuffer(fromRaw), 'a plain Uint8Array')
  t.same(Array.from(fromRaw), Array.from(raw))
  t.same(Array.from(await readKeyFile(join(dir, 'hex.txt'), 32)), new Array(32).fill(0x5e))
  t.same(Array.from(await readKeyFile(join(dir, 'hex-crlf.txt'), 32)), new Array(32).fill(0x5e))
})

t.test('key files of the wrong size, or unreadable, are refused by name without their content', async (t) => {
  const dir = t.testdir({
    short: Buffer.alloc(31, 0xf1),
    'short-hex.txt': '5e'.repeat(16) + '\n',
    'hex-as-raw': '5e'.repeat(16),
    'not-hex.txt': 'zz'.repeat(32),
    'key.d': {},
  })
  await symlink(join(dir, 'gone'), join(dir, 'dangling'))
  // The message with the quoted file path replaced by `|`.
  const message = async (name: string): Promise<string> => {
    const err = await configError(readKeyFile(join(dir, name), 32))
    t.equal(err.code, 'CONFIG_KEY_FILE', `${name}: code`)
    t.equal(err.file, join(dir, name), `${name}: file`)
    t.notMatch(err.message, /5e5e|zzzz/, `${name}: no content in the message`)
    const [before, after] = err.message.split(JSON.stringify(join(dir, name)))
    return `${before}|${after}`
  }
  t.equal(await message('short'), 'key file | must hold 32 raw bytes or 64 hex digits, got 31 bytes')
  t.equal(await message('short-hex.txt'), 'key file | must hold 32 raw bytes or 64 hex digits, got 32 hex digits')
  t.equal(await message('hex-as-raw'), 'key file | must hold 32 raw bytes or 64 hex digits, got 32 hex digits', '32 hex digits are not taken as 32 raw bytes')
  t.equal(await message('not-hex.txt'), 'key file | must hold 32 raw bytes or 64 hex digits, got 64 characters that are not all hex digits')
  t.equal(await message('key.d'), 'cannot read key file |: it is a directory (EISDIR)')
  t.equal(await message('dangling'), 'cannot read key file |: no such file or directory (ENOENT)')
})
