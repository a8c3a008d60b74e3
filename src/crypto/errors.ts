import { MixgateError } from '../errors.js'

/** Every error the crypto interface throws on purpose (codes `CRYPTO_*`). */
export class CryptoError extends MixgateError {}
