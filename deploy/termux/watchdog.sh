#!/bin/sh
# Health watchdog for Termux (systemd's WatchdogSec does the same on Linux servers): while the
# process PID lives, probe URL every INTERVAL seconds; after FAILS failed probes in a row (no
# answer within TIMEOUT seconds, or not 200) kill PID, so the supervising loop restarts it.
#
#   sh watchdog.sh PID URL        (EARSHOT_WATCHDOG_INTERVAL=30 EARSHOT_WATCHDOG_FAILS=3 EARSHOT_WATCHDOG_TIMEOUT=10)
set -u
pid="$1"
url="$2"
interval="${EARSHOT_WATCHDOG_INTERVAL:-30}"
fails_max="${EARSHOT_WATCHDOG_FAILS:-3}"
timeout="${EARSHOT_WATCHDOG_TIMEOUT:-10}"
# Give the server time to start (migrations, first scan) before the first probe counts.
sleep "${EARSHOT_WATCHDOG_GRACE:-60}"
fails=0
while kill -0 "$pid" 2>/dev/null; do
  if curl -fsS -o /dev/null --max-time "$timeout" "$url"; then
    fails=0
  else
    fails=$((fails + 1))
    echo "earshot-watchdog: $url failed ($fails/$fails_max)" >&2
    if [ "$fails" -ge "$fails_max" ]; then
      echo "earshot-watchdog: killing hung server $pid" >&2
      kill -TERM "$pid" 2>/dev/null
      # A graceful stop gets 10 s, then SIGKILL.
      waited=0
      while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 10 ]; do
        sleep 1
        waited=$((waited + 1))
      done
      kill -KILL "$pid" 2>/dev/null
      exit 0
    fi
  fi
  sleep "$interval"
done
