/**
 * deploy/observability: every metric the Grafana dashboard and the alert rules use is one a real
 * server exports (scraped from /metrics), and the rules pass `promtool check rules`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestServer, type TestServer } from '../../test/harness.js';
import { DEPLOY, haveTool } from '../../test/deploy.js';

const TOKEN = 'observability-test-token-0123456789';
const RULES = join(DEPLOY, 'observability/alerts.yml');
const DASHBOARD = join(DEPLOY, 'observability/grafana/dashboards/earshot.json');

/** Metric names in a PromQL expression (Earshot's own; `up` is Prometheus's). */
const metricNames = (expr: string) => [...expr.matchAll(/\bearshot_[a-z0-9_]+/g)].map((m) => m[0]);

describe('dashboard and alert rules against a real scrape', () => {
  let t: TestServer;
  let exported: Set<string>;
  beforeAll(async () => {
    t = await startTestServer({ env: { EARSHOT_METRICS_TOKEN: TOKEN } });
    const res = await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    // Declared families (# TYPE) and histogram series names (_bucket/_sum/_count).
    exported = new Set<string>();
    for (const m of res.body.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
      exported.add(m[1]);
      if (m[2] === 'histogram' || m[2] === 'summary')
        for (const s of ['_bucket', '_sum', '_count']) exported.add(`${m[1]}${s}`);
    }
  });
  afterAll(() => t.close());

  it('the dashboard uses only exported metrics, and covers the questions the issue lists', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const exprs: string[] = dash.panels.flatMap((p: { targets?: { expr: string }[] }) =>
      (p.targets ?? []).map((x) => x.expr),
    );
    const used = new Set(exprs.flatMap(metricNames));
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
    for (const n of [
      'earshot_streams_active',
      'earshot_transcodes_running',
      'earshot_transcodes_queued',
      'earshot_transcodes_refused_total',
      'earshot_stream_bytes_total',
      'earshot_remote_cache_requests_total',
      'earshot_remote_cache_bytes_total',
      'earshot_ytdlp_downloads_total',
      'earshot_provider_search_duration_seconds_bucket',
      'earshot_provider_search_errors_total',
      'earshot_scan_runs_total',
      'earshot_scan_duration_seconds_sum',
      'earshot_scan_files_total',
      'earshot_scan_unreadable_files_total',
      'earshot_search_duration_seconds_bucket',
      'earshot_login_failures_total',
      'earshot_login_throttled_total',
      'earshot_jobs',
      'earshot_sqlite_bytes',
      'earshot_database_bytes',
      'earshot_sqlite_wal_bytes',
      'earshot_nodejs_eventloop_lag_p99_seconds',
    ])
      expect(used, n).toContain(n);
    // Panel ids are unique (Grafana keys panels by id).
    const ids = dash.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('the alert rules use only exported metrics and cover down, scans, disk, yt-dlp and throttling', () => {
    const doc = parse(readFileSync(RULES, 'utf8'));
    const rules: { alert: string; expr: string }[] = doc.groups.flatMap((g: { rules: unknown[] }) => g.rules);
    const used = new Set(rules.flatMap((r) => metricNames(r.expr)));
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'EarshotDown',
        'EarshotScanFailing',
        'EarshotDiskAlmostFull',
        'EarshotYtDlpFailing',
        'EarshotLoginThrottlingSpike',
      ]),
    );
  });

  it('promtool check rules accepts them', (ctx) => {
    if (!haveTool('promtool', 'prometheus')) return ctx.skip();
    const out = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('Grafana provisioning points at the dashboard folder and both datasources the panels use', () => {
    const ds = parse(readFileSync(join(DEPLOY, 'observability/grafana/provisioning/datasources/earshot.yml'), 'utf8'));
    const uids = ds.datasources.map((d: { uid: string }) => d.uid);
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    for (const p of dash.panels) expect(uids).toContain(p.datasource.uid);
    const prov = parse(readFileSync(join(DEPLOY, 'observability/grafana/provisioning/dashboards/earshot.yml'), 'utf8'));
    expect(prov.providers[0].options.path).toBe('/var/lib/grafana/dashboards');
  });
});
