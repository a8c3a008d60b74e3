/**
 * The help texts: `mixgate --help` (every subcommand) and `mixgate help CMD` or
 * `mixgate CMD --help` (one subcommand). Every flag shown here must exist: a help text that
 * advertises a flag the parser refuses is the commonest CLI bug (test/cli/help.test.ts checks
 * that `up`'s help explains each of its options).
 */

export interface CommandHelp {
  readonly summary: string
  readonly usage: string
  readonly details: string
}

const HOP_FIELDS = `  keyDir            directory with identity.key and link.key (mixgate keygen); the node
                    keeps its onion-key seed and replay tag logs there too (mode 0700)
  address           HOST:PORT this hop publishes in its descriptor (others dial it)
  listen            HOST:PORT to listen on (default: address)
  cascade           the signed cascade descriptor (mixgate cascade create); needed to run,
                    not for mixgate descriptor
  cellSize          cell size in bytes (default 2048)          these four are signed in
  roundMs           round length in ms (default 10)            the node descriptor and
  epochS            onion-key epoch in seconds (default 3600)  must equal the cascade's
  genesis           Unix time at which epoch 0 starts (default 0)
  admin             loopback HOST:PORT of the admin server: /healthz, /metrics, /descriptor
  replayCapacity    CREATE tags each onion key's replay table holds before refusing circuits
  circuitIdleS      seconds before a silent circuit is forgotten
  linkIdleS         entry: seconds before a client link without circuits is closed (300)
  maxHandshakes, maxLinks, handshakeRate, handshakeBurst (and each …PerSource)
                    link listener bounds, in all and per source (mixgate.conf(5))
  createRate, createBurst, linkCreateRate, linkCreateBurst
                    CREATEs accepted per second, in all and per link (mixgate.conf(5))
  log               { "level": "info", "format": "text" }`

const SIGNALS = `Signals: SIGHUP re-reads the config file and applies what can change without dropping
circuits (log.level; for the exit, exitPolicy), or logs why it cannot (the node keeps
running with the old config); SIGINT or SIGTERM stop the node.`

export const COMMAND_HELP: Readonly<Record<string, CommandHelp>> = {
  up: {
    summary: 'run a whole cascade (mixes, exit, client) on loopback in this process',
    usage: 'mixgate up [--mixes N] [--socks HOST:PORT] [--http HOST:PORT] [--admin HOST:PORT] [--round-ms MS] [--epoch-s S] [--shaping P] [--exit-policy RULE]... [--state-dir DIR] [--hop-threads N] [--log-level L] [--log-format F]',
    details: `The embedded default: N mixes, an exit and the client, all on 127.0.0.1, with fresh
in-memory keys and free ports. Prints the SOCKS5 address and the client's admin URL when
ready (mixgate status, with no flag, finds it); Ctrl-C stops everything.

Options:
  --mixes N           mixes in the cascade, 1 to 7 (default 3)
  --socks HOST:PORT   the SOCKS address for apps, serving SOCKS5, SOCKS4 and SOCKS4a
                      (default 127.0.0.1:1080; port 0: any free port)
  --http HOST:PORT    also open an HTTP CONNECT port (like Tor's HTTPTunnelPort; off by
                      default; port 0: any free port): CONNECT only, answered 200 once the
                      exit connected; Proxy-Authorization Basic credentials choose the circuit
  --admin HOST:PORT   the client's loopback admin address (default 127.0.0.1:0: any free
                      port); printed, and found by mixgate status. It serves /healthz,
                      /metrics, a status page for a browser at / (health, streams, shaping,
                      loop RTT plot; no script, nothing fetched from elsewhere) and
                      /proxy.pac: every URL to the SOCKS5 port, never DIRECT (with --http,
                      https: may also use the HTTP CONNECT port). Fix the port to keep the
                      PAC URL: mixgate up --admin 127.0.0.1:9100, then
                      chromium --proxy-pac-url=http://127.0.0.1:9100/proxy.pac
  --round-ms MS       round length of every mix, 1 to 10000 (default 10; 5 with --shaping off)
  --epoch-s S         onion-key epoch length in seconds, 4 to 86400 (default 3600)
  --shaping P         traffic shaping: elastic (default), strict or off; see
                      mixgate.conf(5), "shaping". off is faster and weaker: rounds only
  --exit-policy RULE  an exit policy rule in front of the safe default, in Tor syntax;
                      repeatable. The default refuses private and special addresses, so
                      reaching a server on this machine needs --exit-policy 'accept 127.0.0.1:*'
  --state-dir DIR     keep the cascade in DIR (new or empty; mode 0700): a key dir and a config
                      per node (with an admin port each), the signed cascade.json and
                      client.json, so the nodes can later run as separate processes
                      (mixgate exit --config DIR/exit.json, mix --config DIR/mix1.json, …)
  --hop-threads N     worker threads the mixes and the exit share, 1 to the number of hops
                      (default: one per hop; with --shaping off the cores but one: 1 on
                      2 cores). Each thread costs some 15 MB; more spread the rounds
  --log-level L       error, warn, info or debug (default info); logs go to standard error
  --log-format F      text or json (default text)

Examples:
  mixgate up --exit-policy 'accept 127.0.0.1:*'
  curl --socks5-hostname 127.0.0.1:1080 http://127.0.0.1:8080/
  curl --socks4a 127.0.0.1:1080 http://127.0.0.1:8080/

  mixgate up --http 127.0.0.1:8118
  curl --proxytunnel -x http://127.0.0.1:8118 https://example.org/`,
  },
  mix: {
    summary: 'run one mix of a cascade from its config file',
    usage: 'mixgate mix --config FILE',
    details: `Listens for links from the previous hop, peels one layer off every cell, batches and
reorders each round, and forwards to the next hop. Onion keys rotate every epoch.

Config fields (JSON; relative paths are relative to the config file):
  role              "mix"
  position          this mix's place in the cascade, 1 = entry
${HOP_FIELDS}
  minBatch          pad every forward round to at least this many cells (default 0)
  peers             entry only: admin URLs of hops 2 to n ("http://10.0.0.2:9101"); the
                    entry's admin then serves /cascade, a fresh cascade descriptor for clients

${SIGNALS}`,
  },
  exit: {
    summary: 'run the exit of a cascade from its config file',
    usage: 'mixgate exit --config FILE',
    details: `The last hop: opens the TCP connections the streams ask for, as its exit policy allows.

Config fields (JSON; relative paths are relative to the config file):
  role              "exit"
${HOP_FIELDS}
  exitPolicy        rules in Tor syntax ("accept 127.0.0.1:*"), in front of the safe default
  dnsServers        DNS servers to resolve with, as IP or IP:PORT (default: the host's)
  connectTimeoutMs  how long a connection to a host may take (default 10000)
  maxDnsQueries     DNS queries in flight at once, all circuits (default 256)
  maxOutbound       outbound connections at once, all circuits (default 4096)
  maxStreamsPerCircuit  streams open at once on one circuit, 1024 or more (default 1024)

${SIGNALS}`,
  },
  client: {
    summary: 'run the client of a cascade (its SOCKS and HTTP CONNECT ports) from its config file',
    usage: 'mixgate client --config FILE',
    details: `Offers a SOCKS port (SOCKS5, SOCKS4, SOCKS4a) and optionally an HTTP CONNECT port to
apps and carries their streams through the cascade; SOCKS5 also serves UDP ASSOCIATE
(datagrams leave from the exit) and answers Tor's RESOLVE and RESOLVE_PTR (0xF0, 0xF1) with
the exit's lookup. Each new circuit uses the onion keys of
the epoch current when it is built.

Config fields (JSON; relative paths are relative to the config file):
  role             "client"
  cascade          the signed cascade descriptor; the trust anchor: its identity keys are pinned
  cascadeUrl       where to fetch fresh descriptors before each epoch change (the entry's
                   admin /cascade, or a directory); they must name the same identity keys.
                   Without it, the cascade file is re-read
  socks            HOST:PORT of the SOCKS port: SOCKS5, SOCKS4, SOCKS4a (default 127.0.0.1:1080)
  http             HOST:PORT of an HTTP CONNECT port (default none): CONNECT only; its
                   Proxy-Authorization Basic credentials keep streams apart as SOCKS5's do
  auth             SOCKS5 methods offered: ["none", "userpass"] (default both); user names
                   (and SOCKS4 user IDs) are not checked, they keep streams apart (different
                   names, different circuits)
  safeSocks        refuse SOCKS5 and SOCKS4 requests that name an IP address instead of a
                   host name (default false)
  maxConnections   app connections open at once, both ports together (default: what the
                   open-file limit leaves room for); past it SOCKS gets reply 1, HTTP 503
  streamTimeoutMs  how long a stream waits for the exit's answer (default 30000)
  streamAttachTimeoutMs
                   after this long without the exit's answer, the request is tried on
                   another circuit, twice at most, within streamTimeoutMs (default 10000)
  admin            loopback HOST:PORT of the admin server: /healthz, /metrics
  log              { "level": "info", "format": "text" }

${SIGNALS.replace(' (log.level; for the exit, exitPolicy)', ' (log.level; the client also\nfetches the cascade again)')}`,
  },
  'check-config': {
    summary: 'check a node config file (any role) and the files it names',
    usage: 'mixgate check-config FILE',
    details: `Checks everything that can be checked without opening a port: the config's fields, the
key dir (exists, private, keys load), the signed cascade (every signature; for a client, that
it is valid now), that this node's identity and link keys are the ones the cascade lists at
its position, and that its cell size, round and epoch schedule are the cascade's.
Prints "ok", or the problem found (exit status 2).`,
  },
  keygen: {
    summary: 'make a node\'s identity key and link key',
    usage: 'mixgate keygen --dir DIR [--force]',
    details: `Writes DIR/identity.key (Ed25519) and DIR/link.key (X25519), mode 0600, creating DIR with
mode 0700, and prints both public keys. Refuses to replace existing keys (exit status 2)
unless --force is given: every descriptor naming the node must then be rebuilt.

Options:
  --dir DIR   the node's key dir (the keyDir of its config)
  --force     replace existing keys (their files are overwritten with zeros first)`,
  },
  descriptor: {
    summary: 'print the signed node descriptor of a mix or exit',
    usage: 'mixgate descriptor --config FILE [--out FILE]',
    details: `Signs, with the node's identity key, its role, address, link key, cascade parameters and
the public onion keys of the current and next epoch. On a key dir's first use this creates
its onion-key seed. Send the output to whoever assembles the cascade. While the node runs,
its admin /descriptor serves the same, always fresh.

Options:
  --config FILE  the node's config (its cascade need not exist yet)
  --out FILE     write the descriptor to FILE instead of standard output`,
  },
  cascade: {
    summary: 'assemble or check a signed cascade descriptor',
    usage: 'mixgate cascade create --node FILE... --out FILE | mixgate cascade verify FILE [--pin HEX]...',
    details: `create  assembles cascade.json from the hops' node descriptors, given in hop order (the entry
        first, the exit last), after every check a client makes; never overwrites FILE.
verify  checks every signature, the order, the parameters and the validity, and prints a
        summary. Each --pin is an identity key (64 hex digits): as many pins as hops must
        match in hop order; fewer must each be one of the hops'. Exit status 2 if refused.

Example:
  mixgate cascade create --node mix1.desc --node mix2.desc --node exit.desc --out cascade.json
  mixgate cascade verify cascade.json`,
  },
  status: {
    summary: 'print a node\'s health and counters from its admin server',
    usage: 'mixgate status [--admin URL]',
    details: `Fetches /healthz and /metrics from the admin URL (http://127.0.0.1:9101) and prints a short
summary. Without --admin it asks the client of the mixgate up running on this machine (up
records its admin URL in $XDG_RUNTIME_DIR/mixgate, or in a private directory under the
system's temporary directory, and removes it when it stops). The same URL opened in a
browser is a status page that refreshes itself, with the loop RTT over the last hour.

Example:
  mixgate up            # in one terminal
  mixgate status        # in another`,
  },
  help: {
    summary: 'show help for mixgate or for one command',
    usage: 'mixgate help [COMMAND]',
    details: '',
  },
}

export function overviewHelp (): string {
  const width = Math.max(...Object.keys(COMMAND_HELP).map((name) => name.length))
  const lines = Object.entries(COMMAND_HELP).map(([name, help]) => `  ${name.padEnd(width)}  ${help.summary}`)
  return `mixgate: a SOCKS5 (and SOCKS4a, HTTP CONNECT) gateway into a mix cascade

Usage: mixgate COMMAND [OPTIONS]

Commands:
${lines.join('\n')}

Options:
  -h, --help     show this help (or: mixgate help COMMAND)
  -v, --version  print the version

Start here: mixgate up, then point an app at the SOCKS5 port it prints.
`
}

export function commandHelp (name: string): string {
  const help = COMMAND_HELP[name]!
  return `Usage: ${help.usage}\n\n${help.summary[0]!.toUpperCase()}${help.summary.slice(1)}.\n${help.details === '' ? '' : `\n${help.details}\n`}`
}
