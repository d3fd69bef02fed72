/**
 * XSD validation of Subsonic XML responses with xmllint (Debian libxml2-utils) against the 1.16.1
 * schema in ../shared/spec. The XSD predates OpenSubsonic and allows no extensions, so the
 * OpenSubsonic additions (listed here, by element) are removed first; everything the 1.16.1 schema
 * knows — required attributes, types, element order — is still checked. Without the spec folder
 * (a checkout without ../shared) the check is skipped and says so once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const XSD = join(import.meta.dirname, '../../../../../shared/spec/subsonic/subsonic-rest-api-1.16.1.xsd');
export const XSD_AVAILABLE = existsSync(XSD);
let warned = false;

interface El {
  name: string;
  attrs: [string, string][];
  children: (El | string)[];
}

const CHILD_OS_ATTRS = [
  'played',
  'bpm',
  'comment',
  'sortName',
  'mediaType',
  'musicBrainzId',
  'displayArtist',
  'displayAlbumArtist',
  'displayComposer',
  'explicitStatus',
  'bitDepth',
  'samplingRate',
  'channelCount',
];
const CHILD_OS_ELEMENTS = [
  'isrc',
  'genres',
  'artists',
  'albumArtists',
  'replayGain',
  'moods',
  'contributors',
  'groupings',
  'works',
  'movements',
];
const ALBUM_OS_ATTRS = [
  'played',
  'userRating',
  'musicBrainzId',
  'isCompilation',
  'sortName',
  'displayArtist',
  'version',
  'explicitStatus',
];
const ALBUM_OS_ELEMENTS = [
  'genres',
  'artists',
  'releaseTypes',
  'recordLabels',
  'moods',
  'discTitles',
  'originalReleaseDate',
  'releaseDate',
];
const CHILD_ELEMENTS = new Set(['song', 'child', 'entry', 'match', 'episode']);
/** Payloads that exist only in OpenSubsonic. */
const OS_PAYLOADS = new Set(['openSubsonicExtensions', 'lyricsList', 'playQueueByIndex', 'tokenInfo']);

function parse(xml: string): El {
  const body = xml.replace(/^<\?xml[^>]*\?>/, '');
  const root: El = { name: '#root', attrs: [], children: [] };
  const stack: El[] = [root];
  const re = /<(\/?)([A-Za-z][\w-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/g;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    if (m[5] !== undefined) {
      stack[stack.length - 1].children.push(m[5]);
      continue;
    }
    if (m[1]) {
      stack.pop();
      continue;
    }
    const attrs = [...m[3].matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]] as [string, string]);
    const el: El = { name: m[2], attrs, children: [] };
    stack[stack.length - 1].children.push(el);
    if (!m[4]) stack.push(el);
  }
  return root.children[0] as El;
}

function strip(el: El, parent: string | null): El | null {
  let dropAttrs: string[] = [];
  let dropEls: string[] = [];
  const isChildLike = CHILD_ELEMENTS.has(el.name) || (el.name === 'album' && el.attrs.some(([k]) => k === 'isDir'));
  if (parent === 'subsonic-response' && OS_PAYLOADS.has(el.name)) return null;
  if (el.name === 'subsonic-response') dropAttrs = ['type', 'serverVersion', 'openSubsonic'];
  else if (isChildLike) {
    dropAttrs = CHILD_OS_ATTRS;
    dropEls = CHILD_OS_ELEMENTS;
  } else if (el.name === 'album') {
    dropAttrs = ALBUM_OS_ATTRS;
    dropEls = ALBUM_OS_ELEMENTS;
  } else if (el.name === 'artist' || el.name === 'similarArtist') {
    dropAttrs = ['musicBrainzId', 'sortName'];
    dropEls = ['roles'];
  } else if (el.name === 'playlist') dropAttrs = ['readonly', 'validUntil'];
  // The XSD types playQueue@current as xs:int although every id is a string (NOTES.md §2).
  else if (el.name === 'playQueue') dropAttrs = ['current'];
  return {
    name: el.name,
    attrs: el.attrs.filter(([k]) => !dropAttrs.includes(k)),
    children: el.children.flatMap((c): (El | string)[] => {
      if (typeof c === 'string') return [c];
      if (dropEls.includes(c.name)) return [];
      const s = strip(c, el.name);
      return s ? [s] : [];
    }),
  };
}

function serialize(el: El): string {
  const attrs = el.attrs.map(([k, v]) => ` ${k}="${v}"`).join('');
  if (el.children.length === 0) return `<${el.name}${attrs}/>`;
  return `<${el.name}${attrs}>${el.children.map((c) => (typeof c === 'string' ? c : serialize(c))).join('')}</${el.name}>`;
}

/** The XML without OpenSubsonic additions (exported for the test of this helper). */
export function withoutOpenSubsonic(xml: string): string {
  const root = strip(parse(xml), null);
  return `<?xml version="1.0" encoding="UTF-8"?>${serialize(root as El)}`;
}

/** Throws with xmllint's message when the response does not validate. */
export function assertValidXml(xml: string): void {
  if (!XSD_AVAILABLE) {
    if (!warned) console.warn(`XSD check skipped: ${XSD} is absent (run inside the monorepo with ../shared).`);
    warned = true;
    return;
  }
  try {
    execFileSync('xmllint', ['--noout', '--nonet', '--schema', XSD, '-'], {
      input: withoutOpenSubsonic(xml),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new Error(`XSD violation:\n${e.stderr?.toString() ?? String(err)}\n--- response ---\n${xml.slice(0, 3000)}`);
  }
}
