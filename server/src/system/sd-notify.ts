/**
 * systemd readiness and watchdog (sd_notify) without a native module: Node cannot send on a unix
 * datagram socket, so each notification is one `systemd-notify --pid=<our pid>` run (systemd's
 * own tool, present wherever systemd is). With `Type=notify` + `WatchdogSec=` in the unit
 * (deploy/systemd/earshot.service), systemd restarts a server whose pings stop: a hung event loop
 * or a database that no longer answers. Without NOTIFY_SOCKET (not under systemd) this is a no-op.
 */
import { execFile } from 'node:child_process';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';

export interface SdNotifyOptions {
  /**
   * A query through the database engine (`select 1` on SQLite or PostgreSQL): the watchdog ping
   * goes out only when it answers. Rejecting, or still pending at the next tick, withholds it.
   */
  probe: () => Promise<unknown>;
  logger: Logger;
  lifecycle: Lifecycle;
  env?: NodeJS.ProcessEnv;
  /** The notifier binary (tests point it elsewhere). */
  bin?: string;
}

export function startSdNotify(o: SdNotifyOptions): void {
  const env = o.env ?? process.env;
  if (!env.NOTIFY_SOCKET) return;
  const log = o.logger.child({ area: 'systemd' });
  let warned = false;
  const notify = (...state: string[]) =>
    new Promise<void>((resolve) => {
      execFile(o.bin ?? 'systemd-notify', [`--pid=${process.pid}`, ...state], { env }, (err) => {
        if (err && !warned) {
          warned = true; // once: a missing tool must not flood the journal
          log.warn(
            { err: err.message },
            'systemd-notify failed: readiness and watchdog pings are not reaching systemd',
          );
        }
        resolve();
      });
    });

  void notify('READY=1', 'STATUS=Serving');
  const usec = Number(env.WATCHDOG_USEC);
  const forUs = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
  let timer: NodeJS.Timeout | undefined;
  if (usec > 0 && forUs) {
    // Half the watchdog period, as sd_watchdog_enabled(3) recommends. The ping only goes out when
    // this timer runs (the event loop is alive) and the database answers.
    let probing = false;
    timer = setInterval(
      () => {
        // A probe still waiting from the last tick means the database does not answer (a hung
        // PostgreSQL connection never rejects): no ping, and no pile of waiting probes.
        if (probing) return;
        probing = true;
        o.probe().then(
          () => {
            probing = false;
            void notify('WATCHDOG=1');
          },
          (err: unknown) => {
            probing = false;
            log.error({ err }, 'database does not answer: withholding the watchdog ping');
          },
        );
      },
      Math.max(50, Math.floor(usec / 2000)),
    );
    timer.unref();
    log.info({ everyMs: Math.floor(usec / 2000) }, 'systemd watchdog on');
  }
  o.lifecycle.onStop('systemd notify', async () => {
    clearInterval(timer);
    await notify('STOPPING=1');
  });
}
