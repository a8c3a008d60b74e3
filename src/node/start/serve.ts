/**
 * Keep started nodes running until SIGINT or SIGTERM, then stop them in reverse start order
 * and resolve with the exit status (0 when every stop went well).
 *
 * The shutdown itself is the node runtime's (`src/node/lifecycle.ts`): grace period, second
 * signal forces status 1. Here the lifecycle's "exit" resolves the command's promise instead
 * of calling `process.exit`, so `main` returns the status like every other command; once it
 * has, the handlers are removed, so a further Ctrl-C has its default effect again. With
 * `onReload`, SIGHUP runs it (the lifecycle logs `reload.failed` with the reason if it throws).
 * With `crashed`, a node that died (a hop's thread under `mixgate up`) starts the same shutdown;
 * the status is then 1 whatever the stops did.
 *
 * With `hardExit`, the shutdown also arms the hard exit (hard-exit.ts): if the process is still
 * alive some seconds later, whatever its threads do, it ends then. A second signal only sets
 * the status, as before: stops still under way (a tag log's clean-shutdown marker) may finish.
 */
import { onShutdown, installSignalHandlers } from '../lifecycle.js'
import { armHardExit, type HardExitOptions } from '../hard-exit.js'
import type { Logger } from '../../base/logger.js'

export interface Stoppable {
  stop (): Promise<void>
}

/** Register `started` (in the order they were started) and wait for the stop signal. */
export interface ServeOptions {
  readonly onReload?: () => Promise<void>
  /** Resolves if a node died on its own: shut the rest down, and `onCrash` reports it. */
  readonly crashed?: Promise<Error>
  readonly onCrash?: (err: Error) => void
  /** Arm the hard exit as the shutdown starts (real processes; never in a test's own process). */
  readonly hardExit?: Omit<HardExitOptions, 'logger'>
}

export async function serveUntilSignal (started: readonly Stoppable[], logger: Logger, options: ServeOptions = {}): Promise<number> {
  const unregister = started.map((node) => onShutdown(() => node.stop()))
  let handlers: ReturnType<typeof installSignalHandlers> | undefined
  let crash: Error | undefined
  const status = await new Promise<number>((resolve) => {
    const armed = options.hardExit
    const deadline = armed === undefined ? {} : { onStopping: () => armHardExit({ ...armed, logger }) }
    handlers = installSignalHandlers({ logger, exit: resolve, ...(options.onReload === undefined ? {} : { onReload: options.onReload }), ...deadline })
    void options.crashed?.then((err) => {
      crash = err
      void handlers!.shutdown('node_crashed')
    })
  })
  handlers?.uninstall()
  for (const remove of unregister) remove()
  if (crash === undefined) return status
  options.onCrash?.(crash)
  return 1
}
