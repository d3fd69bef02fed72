/**
 * Preload hook for the start-up bench (`node --require ./startup-hook.cjs …`): stops the process
 * at its first output line that matches STARTUP_UNTIL (a regular expression) and writes one JSON
 * line to fd 3 (or stderr when fd 3 is not open): the process's CPU time (all threads, user +
 * system) and wall time since the process started, both in ms, and its RSS.
 *
 * pino writes through sonic-boom with `fs.write`/`fs.writeSync` on fd 1, not through
 * `process.stdout`, so both paths are watched.
 *
 * CommonJS, and no module beyond `fs`: an ES preload (`--import`) would set up Node's ES module
 * loader in every measured process, which the CLI (CommonJS from `bin/earshot.js` to the bundle)
 * does not; a build whose launcher is an ES module still pays for it itself. The wall time comes
 * from `process.uptime()`, not `perf_hooks` (a module the server does not load before listening).
 */
'use strict';
const fs = require('node:fs');

const until = new RegExp(process.env.STARTUP_UNTIL ?? 'Earshot is listening|Scanning ');
let done = false;

function check(chunk) {
  if (done) return;
  const text =
    typeof chunk === 'string'
      ? chunk
      : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array
        ? Buffer.from(chunk).toString('utf8')
        : '';
  if (!until.test(text)) return;
  done = true;
  const cpu = process.cpuUsage();
  const line = `${JSON.stringify({
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: process.uptime() * 1000,
    rss: process.memoryUsage.rss(),
  })}\n`;
  try {
    fs.writeSync(3, line);
  } catch {
    fs.writeSync(2, line);
  }
  // process.exit, not a kill: --cpu-prof still writes its profile.
  process.exit(0);
}

const origWrite = fs.write;
const origWriteSync = fs.writeSync;
fs.write = function write(fd, chunk, ...rest) {
  if (fd === 1 || fd === 2) check(chunk);
  return origWrite.call(this, fd, chunk, ...rest);
};
fs.writeSync = function writeSync(fd, chunk, ...rest) {
  if (fd === 1 || fd === 2) check(chunk);
  return origWriteSync.call(this, fd, chunk, ...rest);
};
// `process.stdout`/`stderr` are made on first access (a pipe's or a file's stream: 5–10 ms of
// modules); the process measured may never touch them before its line, so they are watched from
// whenever it first does, not made here.
for (const name of ['stdout', 'stderr']) {
  const made = Object.getOwnPropertyDescriptor(process, name);
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: made.enumerable,
    get() {
      const stream = made.get.call(process);
      const orig = stream.write;
      stream.write = function write(chunk, ...rest) {
        check(chunk);
        return orig.call(this, chunk, ...rest);
      };
      Object.defineProperty(process, name, { ...made, get: () => stream });
      return stream;
    },
  });
}
