/**
 * Operational measurements, recorded by every area and exported at `/metrics` (system/metrics.ts).
 *
 * Dependency-free and process-wide on purpose: recording is a map update that costs nothing when
 * metrics are off (prom-client is only loaded when they are on), areas record with one line
 * without a telemetry object threaded through their constructors, and a process runs one server
 * — the same model as prom-client's default registry. Tests that share a process compare deltas.
 *
 * Every metric is declared once in {@link METRICS}; a name not declared there does not compile.
 */

type MetricType = 'counter' | 'gauge' | 'histogram';
interface MetricDef {
  type: MetricType;
  help: string;
  labels: readonly string[];
  buckets?: readonly number[];
}

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SCAN_BUCKETS = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200];

export const METRICS = {
  earshot_streams_active: {
    type: 'gauge',
    help: 'Audio streams being sent right now, by kind (direct file, transcoded, remote = not yet cached).',
    labels: ['kind'],
  },
  earshot_streams_total: { type: 'counter', help: 'Audio streams started, by kind.', labels: ['kind'] },
  earshot_stream_bytes_total: {
    type: 'counter',
    help: 'Bytes written to stream clients (headers included), by kind.',
    labels: ['kind'],
  },
  earshot_transcodes_running: { type: 'gauge', help: 'ffmpeg transcodes running now.', labels: [] },
  earshot_transcodes_queued: { type: 'gauge', help: 'Transcode requests waiting for a slot.', labels: [] },
  earshot_transcodes_refused_total: {
    type: 'counter',
    help: 'Transcode requests refused (503), by reason: user_limit, server_limit, client_gone.',
    labels: ['reason'],
  },
  earshot_remote_cache_requests_total: {
    type: 'counter',
    help: 'Streams of remote (YouTube/SoundCloud/URL) tracks, by result: hit (served from the cache) or miss.',
    labels: ['result'],
  },
  earshot_remote_cache_bytes_total: {
    type: 'counter',
    help: 'Bytes of remote tracks sent to clients, by result (hit or miss).',
    labels: ['result'],
  },
  earshot_ytdlp_downloads_total: {
    type: 'counter',
    help: 'yt-dlp downloads into the cache, by provider and outcome (ok, failed, cancelled).',
    labels: ['provider', 'outcome'],
  },
  earshot_provider_search_duration_seconds: {
    type: 'histogram',
    help: 'Remote provider search time, by provider (timeouts included).',
    labels: ['provider'],
    buckets: LATENCY_BUCKETS,
  },
  earshot_provider_search_errors_total: {
    type: 'counter',
    help: 'Remote provider searches that failed, by provider and reason (timeout or error).',
    labels: ['provider', 'reason'],
  },
  earshot_leader: {
    type: 'gauge',
    help: '1 while this replica leads (runs library scans and the folder watcher), else 0; always 1 on SQLite.',
    labels: [],
  },
  earshot_scan_runs_total: {
    type: 'counter',
    help: 'Library scans finished, by outcome (done, failed, interrupted).',
    labels: ['outcome'],
  },
  earshot_scan_duration_seconds: {
    type: 'histogram',
    help: 'Library scan duration.',
    labels: [],
    buckets: SCAN_BUCKETS,
  },
  earshot_scan_files_total: { type: 'counter', help: 'Files read (new or changed) by library scans.', labels: [] },
  earshot_scan_unreadable_files_total: {
    type: 'counter',
    help: 'Files library scans could not read (bad tags, not audio).',
    labels: [],
  },
  earshot_scan_last_success_timestamp_seconds: {
    type: 'gauge',
    help: 'Unix time of the last library scan that finished without error.',
    labels: [],
  },
  earshot_search_duration_seconds: {
    type: 'histogram',
    help: 'Library search ranking time, by path: cache, mirror (in-memory), fts (SQLite FTS5), inline.',
    labels: ['path'],
    buckets: LATENCY_BUCKETS,
  },
  earshot_login_failures_total: {
    type: 'counter',
    help: 'Wrong username or password.',
    labels: [],
  },
  earshot_login_throttled_total: {
    type: 'counter',
    help: 'Sign-in attempts refused by throttling (429).',
    labels: [],
  },
  earshot_jobs: {
    type: 'gauge',
    help: 'Background jobs (offline caching) by type and state (queued, running).',
    labels: ['type', 'state'],
  },
  earshot_sqlite_bytes: { type: 'gauge', help: 'Size of the SQLite database file.', labels: [] },
  earshot_database_bytes: {
    type: 'gauge',
    help: 'Size of the database: the SQLite file and its write-ahead log, or pg_database_size on PostgreSQL.',
    labels: [],
  },
  earshot_sqlite_wal_bytes: { type: 'gauge', help: 'Size of the SQLite write-ahead log.', labels: [] },
  earshot_disk_free_bytes: {
    type: 'gauge',
    help: 'Free bytes on the file system, by folder (data, music, cache, db).',
    labels: ['dir'],
  },
  earshot_disk_size_bytes: {
    type: 'gauge',
    help: 'Size of the file system, by folder (data, music, cache, db).',
    labels: ['dir'],
  },
  earshot_backup_last_success_timestamp_seconds: {
    type: 'gauge',
    help: 'Unix time of the last scheduled backup that was written and verified.',
    labels: [],
  },
  earshot_backups_total: {
    type: 'counter',
    help: 'Scheduled backups, by outcome (ok, failed).',
    labels: ['outcome'],
  },
} as const satisfies Record<string, MetricDef>;

export type MetricName = keyof typeof METRICS;
type Labels = Record<string, string>;
interface Series {
  labels: Labels;
  value: number;
}
interface HistogramSeries {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}
export type GaugeReader = () => Series[] | number | Promise<Series[] | number>;

/**
 * A series' identity: its labels in name order (code unit order: `localeCompare` costs µs per
 * call). Remembered per labels object: hot paths pass the same constant object on every request
 * (a lookup instead of entries, a sort and a JSON text each time). Labels objects are never
 * changed after they are passed (they are kept as the series' labels too).
 */
const labelKeys = new WeakMap<Labels, string>();
const labelKey = (labels: Labels) => {
  let key = labelKeys.get(labels);
  if (key === undefined) {
    const entries = Object.entries(labels);
    if (entries.length > 1) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    key = JSON.stringify(entries);
    labelKeys.set(labels, key);
  }
  return key;
};

class Telemetry {
  private readonly values = new Map<MetricName, Map<string, Series>>();
  private readonly histograms = new Map<MetricName, Map<string, HistogramSeries>>();
  private readonly readers = new Map<MetricName, GaugeReader>();

  /** Adds `n` to a counter (or to a gauge tracking something that starts and ends). */
  add(name: MetricName, labels: Labels = {}, n = 1): void {
    const series = this.values.get(name) ?? new Map<string, Series>();
    this.values.set(name, series);
    const key = labelKey(labels);
    const s = series.get(key);
    if (s) s.value += n;
    else series.set(key, { labels, value: n });
  }

  set(name: MetricName, labels: Labels, value: number): void {
    this.add(name, labels, value - (this.value(name, labels) ?? 0));
  }

  observe(name: MetricName, labels: Labels, value: number): void {
    const buckets = (METRICS[name] as MetricDef).buckets ?? [];
    const series = this.histograms.get(name) ?? new Map<string, HistogramSeries>();
    this.histograms.set(name, series);
    const key = labelKey(labels);
    const s = series.get(key) ?? { labels, counts: buckets.map(() => 0), sum: 0, count: 0 };
    series.set(key, s);
    for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]) s.counts[i] += 1;
    s.sum += value;
    s.count += 1;
  }

  /** Seconds since `startedMs` (a `performance.now()`), observed into a histogram. */
  time(name: MetricName, labels: Labels, startedMs: number): void {
    this.observe(name, labels, (performance.now() - startedMs) / 1000);
  }

  /** A gauge read at scrape time. Returns the unregister function (only removes this reader). */
  gauge(name: MetricName, read: GaugeReader): () => void {
    this.readers.set(name, read);
    return () => {
      if (this.readers.get(name) === read) this.readers.delete(name);
    };
  }

  /** The current value of a counter/gauge series (tests, and `set`). */
  value(name: MetricName, labels: Labels = {}): number | undefined {
    return this.values.get(name)?.get(labelKey(labels))?.value;
  }

  /** Every declared metric in the Prometheus text exposition format (0.0.4). */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const [name, def] of Object.entries(METRICS) as [MetricName, MetricDef][]) {
      out.push(`# HELP ${name} ${def.help}`, `# TYPE ${name} ${def.type}`);
      if (def.type === 'histogram') {
        const buckets = def.buckets ?? [];
        const all = [...(this.histograms.get(name)?.values() ?? [])];
        if (all.length === 0 && def.labels.length === 0)
          all.push({ labels: {}, counts: buckets.map(() => 0), sum: 0, count: 0 });
        for (const s of all) {
          for (const [i, le] of buckets.entries()) {
            out.push(`${name}_bucket${fmt({ ...s.labels, le: String(le) })} ${s.counts[i]}`);
          }
          out.push(`${name}_bucket${fmt({ ...s.labels, le: '+Inf' })} ${s.count}`);
          out.push(`${name}_sum${fmt(s.labels)} ${s.sum}`, `${name}_count${fmt(s.labels)} ${s.count}`);
        }
        continue;
      }
      const reader = this.readers.get(name);
      let series: Series[];
      if (reader) {
        try {
          const read = await reader();
          series = typeof read === 'number' ? [{ labels: {}, value: read }] : read;
        } catch {
          series = []; // a failing reader must not break the scrape; the series is absent
        }
      } else {
        series = [...(this.values.get(name)?.values() ?? [])];
        // An unlabelled counter exists from the start at 0, so rate() and absent() work at once.
        if (series.length === 0 && def.labels.length === 0 && def.type === 'counter')
          series = [{ labels: {}, value: 0 }];
      }
      for (const s of series) out.push(`${name}${fmt(s.labels)} ${s.value}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function fmt(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${entries.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
}

export const telemetry = new Telemetry();
