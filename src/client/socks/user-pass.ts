/**
 * Our own decoder for the username/password subnegotiation (RFC 1929), pure and incremental.
 *
 *   VER(1)=1 ‖ ULEN(1) ‖ UNAME(ULEN) ‖ PLEN(1) ‖ PASSWD(PLEN)
 *
 * Credentials are not checked: they are an isolation key (Tor's IsolateSOCKSAuth), so any
 * well-formed request succeeds, including an empty username or password, as Tor accepts
 * them. That is why socksv5's handler (lib/auth/UserPassword.js) is not used: it refuses
 * ULEN 0 and PLEN 0 (RFC 1929 says 1 to 255), which breaks common isolation setups such as
 * `curl -U name:` or PySocks with a username only (pinned by test/client/socks/socksv5-limits);
 * it decodes invalid UTF-8 to U+FFFD, so two different keys could become one; and it sends
 * no failure STATUS on a malformed request. Names must be valid UTF-8 here, so that equal
 * strings always mean equal bytes.
 *
 * `decodeUserPass(bytes)` returns `undefined` while more bytes are needed, `{ value, bytesRead }`
 * once complete, and throws `SocksError` SOCKS_AUTH_FAILED when it can never become valid.
 */
import { USER_PASS_VERSION } from './socks-constants.js'
import { SocksError, SocksErrorCode } from './socks-error.js'
import type { Decoded } from './socks-request.js'

/** VER, ULEN, 255 bytes, PLEN, 255 bytes. */
export const MAX_USER_PASS_BYTES = 1 + 1 + 255 + 1 + 255

export interface Credentials {
  readonly username: string
  readonly password: string
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

export function decodeUserPass (bytes: Uint8Array): Decoded<Credentials> | undefined {
  if (bytes.length < 1) return undefined
  if (bytes[0] !== USER_PASS_VERSION) {
    throw new SocksError(SocksErrorCode.AUTH_FAILED, `username/password subnegotiation version ${bytes[0]}, expected 1`)
  }
  if (bytes.length < 2) return undefined
  const usernameLength = bytes[1]!
  const passwordLengthOffset = 2 + usernameLength
  if (bytes.length < passwordLengthOffset + 1) return undefined
  const passwordLength = bytes[passwordLengthOffset]!
  const bytesRead = passwordLengthOffset + 1 + passwordLength
  if (bytes.length < bytesRead) return undefined
  const username = utf8(bytes.subarray(2, passwordLengthOffset))
  const password = utf8(bytes.subarray(passwordLengthOffset + 1, bytesRead))
  return { value: { username, password }, bytesRead }
}

function utf8 (bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes)
  } catch (err) {
    throw new SocksError(SocksErrorCode.AUTH_FAILED, 'username or password is not valid UTF-8', { cause: err })
  }
}
