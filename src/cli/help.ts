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

export const COMMAND_HELP: Readonly<Record<string, CommandHelp>> = {
  up: {
    summary: 'run a whole cascade (mixes, exit, client) on loopback in this process',
    usage: 'mixgate up [--mixes N] [--socks HOST:PORT] [--round-ms MS] [--exit-policy RULE]... [--state-dir DIR] [--log-level L] [--log-format F]',
    details: `The embedded default: N mixes, an exit and the client, all on 127.0.0.1, with fresh
keys and free ports. Prints the SOCKS5 address when ready; Ctrl-C stops everything.

Options:
  --mixes N           mixes in the cascade, 1 to 7 (default 3)
  --socks HOST:PORT   the SOCKS5 address for apps (default 127.0.0.1:1080; port 0: any free port)
  --round-ms MS       round length of every mix, 1 to 10000 (default 10)
  --exit-policy RULE  an exit policy rule in front of the safe default, in Tor syntax;
                      repeatable. The default refuses private and special addresses, so
                      reaching a server on this machine needs --exit-policy 'accept 127.0.0.1:*'
  --state-dir DIR     also write the cascade, one config per node and the key files into DIR
                      (new or empty; mode 0700), to run the nodes later as separate processes
  --log-level L       error, warn, info or debug (default info); logs go to standard error
  --log-format F      text or json (default text)

Example:
  mixgate up --exit-policy 'accept 127.0.0.1:*'
  curl --socks5-hostname 127.0.0.1:1080 http://127.0.0.1:8080/`,
  },
  mix: {
    summary: 'run one mix of a cascade from its config file',
    usage: 'mixgate mix --config FILE',
    details: `Listens for links from the previous hop, peels one layer off every cell, batches and
reorders each round, and forwards to the next hop. Runs until SIGINT or SIGTERM.

Config fields (JSON; relative paths are relative to the config file):
  role            "mix"
  cascade         path of the cascade file
  position        this mix's place in the cascade, 1 = entry
  linkKeyFile     file with the link key's secret (64 hex digits)
  onionKeyFile    file with the onion key's secret (64 hex digits)
  listen          HOST:PORT to listen on (default: this hop's address in the cascade)
  minBatch        pad every forward round to at least this many cells (default 0)
  replayCapacity  CREATE tags the replay table holds before refusing new circuits
  circuitIdleS    seconds before a silent circuit is forgotten
  log             { "level": "info", "format": "text" }`,
  },
  exit: {
    summary: 'run the exit of a cascade from its config file',
    usage: 'mixgate exit --config FILE',
    details: `The last hop: opens the TCP connections the streams ask for, as its exit policy allows.
Runs until SIGINT or SIGTERM.

Config fields (JSON; relative paths are relative to the config file):
  role              "exit"
  cascade           path of the cascade file
  linkKeyFile       file with the link key's secret (64 hex digits)
  onionKeyFile      file with the onion key's secret (64 hex digits)
  exitPolicy        rules in Tor syntax ("accept 127.0.0.1:*"), in front of the safe default
  dnsServers        DNS servers to resolve with, as IP or IP:PORT (default: the host's)
  listen            HOST:PORT to listen on (default: this hop's address in the cascade)
  connectTimeoutMs  how long a connection to a host may take (default 10000)
  replayCapacity    CREATE tags the replay table holds before refusing new circuits
  circuitIdleS      seconds before a silent circuit is forgotten
  log               { "level": "info", "format": "text" }`,
  },
  client: {
    summary: 'run the SOCKS5 client of a cascade from its config file',
    usage: 'mixgate client --config FILE',
    details: `Offers a SOCKS5 port to apps and carries their streams through the cascade.
Runs until SIGINT or SIGTERM.

Config fields (JSON; relative paths are relative to the config file):
  role             "client"
  cascade          path of the cascade file
  socks            HOST:PORT of the SOCKS5 port (default 127.0.0.1:1080)
  auth             SOCKS5 methods offered: ["none", "userpass"] (default both); user names
                   are not checked, they keep streams apart (different names, different circuits)
  safeSocks        refuse requests that name an IP address instead of a host name (default false)
  streamTimeoutMs  how long a stream waits for the exit's answer (default 30000)
  log              { "level": "info", "format": "text" }`,
  },
  'check-config': {
    summary: 'check a node config file (any role) and the files it names',
    usage: 'mixgate check-config FILE',
    details: `Reads the config, the cascade file and the key files it names, and checks that they fit
together (the keys are this hop's). Prints "ok", or every problem found (exit status 2).`,
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
  return `mixgate: a SOCKS5 gateway into a mix cascade

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
