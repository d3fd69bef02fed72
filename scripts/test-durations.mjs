#!/usr/bin/env node
/**
 * Refreshes server/src/test/file-durations.json — the per-file durations the test sequencer
 * (server/src/test/sequencer.ts) starts the longest files first by on a fresh clone — from the JSON
 * report `npm test` leaves in node_modules/.earshot/vitest-report.json (or a report given as the
 * first argument). Files the report does not cover keep their old figure; files that no longer
 * exist are dropped. Only Node's standard library is used here.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TABLE = join(ROOT, 'server/src/test/file-durations.json');
const report = process.argv[2] ?? join(ROOT, 'node_modules/.earshot/vitest-report.json');
if (!existsSync(report)) {
  console.error(`No report at ${report}: run \`npm test\` first (it writes one).`);
  process.exit(1);
}
/**
 * The clone the report was written in (its own node_modules/.earshot), so a report from another
 * clone — CI's, in a sibling folder — maps onto this one's paths.
 */
const reportRoot = basename(dirname(report)) === '.earshot' ? resolve(dirname(report), '../..') : ROOT;
/** Each project's root is the workspace folder of the same name (vitest.config.ts). */
const PROJECTS = ['server', 'web', 'e2e', 'bench'];
const table = existsSync(TABLE) ? JSON.parse(readFileSync(TABLE, 'utf8')) : {};
let updated = 0;
for (const file of JSON.parse(readFileSync(report, 'utf8')).testResults ?? []) {
  const path = relative(reportRoot, file.name).split('\\').join('/');
  const project = PROJECTS.find((p) => path.startsWith(`${p}/`));
  if (!project || !(file.endTime > file.startTime)) continue;
  table[`${project}:${path}`] = Math.round(file.endTime - file.startTime);
  updated++;
}
for (const key of Object.keys(table)) if (!existsSync(join(ROOT, key.slice(key.indexOf(':') + 1)))) delete table[key];
const sorted = Object.fromEntries(Object.entries(table).sort((a, b) => b[1] - a[1]));
writeFileSync(TABLE, `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`${updated} files updated, ${Object.keys(sorted).length} in ${relative(ROOT, TABLE)}.`);
