/**
 * systemd readiness and watchdog (sd_notify) without a native module: Node cannot send on a unix
 * datagram socket, so each notification is one `systemd-notify --pid=<our pid>` run (systemd's
 * own tool, present wherever systemd is). With `Type=notify` + `WatchdogSec=` in the unit
 * (deploy/systemd/earshot.service), systemd restarts a server whose pings stop: a hung event loop
 * or a database that no longer answers. Without NOTIFY_SOCKET (not under systemd) this is a no-op.
 *
 * The runs go through one small `sh`, started with the first notification (and again if it goes
 * away), that runs systemd-notify for each line the server writes to it and answers with its exit
 * status: the server itself does not fork for each ping. A fork write-protects every page of the forking
 * process, and the page faults that follow slowed the requests in flight for tens of milliseconds
 * (bench/README.md, "The load generator's own pauses": search p99 16–24 ms after one fork against
 * 5.6–9.9 ms without); with `WatchdogSec=30` that was one fork every 15 seconds.
 */
import { spawn } from 'node:child_process';
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
  const warn = (why: string) => {
    if (warned) return;
    warned = true; // once: a missing tool must not flood the journal
    log.warn({ err: why }, 'systemd-notify failed: readiness and watchdog pings are not reaching systemd');
  };
  let notifier = startNotifier(o.bin ?? 'systemd-notify', env, warn);
  const notify = (...state: string[]) => {
    // A shell that went away (killed, out of memory) is replaced: without it no ping would reach
    // systemd again, and the watchdog would restart a healthy server.
    if (notifier.gone) notifier = startNotifier(o.bin ?? 'systemd-notify', env, warn);
    return notifier.send(state);
  };

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
    notifier.close();
  });
}

/**
 * Runs `<bin> --pid=<this process> <line's words>` for each line written to its stdin and prints
 * its exit status, then what it printed (one line). The words are systemd's `NAME=value`
 * assignments (no spaces in ours), split without globbing.
 */
const NOTIFIER_SCRIPT =
  'set -f; while IFS= read -r line; do out=$("$0" --pid="$1" $line 2>&1); st=$?; echo "$st" $out; done';

/** One long-lived `sh` that runs systemd-notify (module comment); `send` resolves when it ran. */
function startNotifier(bin: string, env: NodeJS.ProcessEnv, warn: (why: string) => void) {
  const waiting: (() => void)[] = [];
  let out = '';
  let gone = false;
  const child = spawn('sh', ['-c', NOTIFIER_SCRIPT, bin, String(process.pid)], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env,
  });
  const finishAll = () => {
    gone = true;
    for (const done of waiting.splice(0)) done();
  };
  child.on('error', (err) => {
    warn(err.message);
    finishAll();
  });
  child.on('exit', finishAll);
  child.stdin.on('error', () => {}); // the shell gone: 'exit' answers the waiting sends
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    out += text;
    for (let end = out.indexOf('\n'); end >= 0; end = out.indexOf('\n')) {
      const [status, ...said] = out.slice(0, end).trim().split(' ');
      out = out.slice(end + 1);
      if (status !== '0') warn(`exit status ${status}${said.length ? `: ${said.join(' ')}` : ''}`);
      waiting.shift()?.();
      if (waiting.length === 0) pipes(false);
    }
  });
  // The shell and its pipes keep the server's event loop alive only while a send waits for its
  // answer (STOPPING=1 at shutdown is sent before the loop may end).
  const pipes = (keep: boolean) => {
    for (const stream of [child.stdin, child.stdout]) {
      const handle = stream as unknown as { ref?: () => void; unref?: () => void };
      if (keep) handle.ref?.();
      else handle.unref?.();
    }
  };
  child.unref();
  pipes(false);
  return {
    /** The shell has exited (or never started): sends resolve at once and reach nobody. */
    get gone() {
      return gone;
    },
    send(state: string[]): Promise<void> {
      if (gone) return Promise.resolve();
      return new Promise<void>((resolve) => {
        if (waiting.length === 0) pipes(true);
        waiting.push(resolve);
        child.stdin.write(`${state.join(' ')}\n`);
      });
    },
    close(): void {
      child.stdin.end();
    },
  };
}
