/**
 * The entry's CREATE budget per client link (PROTOCOL.md §10 "CREATE budgets"): 1 CREATE a
 * second with a burst of 32, checked before any X25519 work. A protocol constant rather
 * than only a hop default, because an unshaped client keeps the same budget itself
 * (src/client/unshaped-sender.ts): a CREATE past it is refused at the entry without a word
 * (nothing is relayed, R3), so a client that built it would put streams on a circuit that
 * never existed and learn only from the silence, 10 s later (§11.4).
 */
export const ENTRY_LINK_CREATE_RATE_PER_S = 1
export const ENTRY_LINK_CREATE_BURST = 32
