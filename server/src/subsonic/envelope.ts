/**
 * The one writer of Subsonic responses: a payload tree to XML (default), JSON or JSONP.
 *
 * Tree convention (mirrors the XSD → JSON mapping in the Navidrome snapshots):
 *  - a string/number/boolean member is an XML attribute and a typed JSON property;
 *  - an array is repeated child elements (JSON: an array, even of one; empty arrays are left out,
 *    except the OpenSubsonic list fields, which are always sent, see {@link ALWAYS_LISTS});
 *  - a nested object is one child element;
 *  - the member `value` is the element's text (genre name, lyrics) — JSON keeps it as `value`;
 *  - a {@link Text} member is a child element holding only text (artistInfo `biography` …);
 *  - undefined and null members are omitted.
 * Member order is element order, so builders list children in the XSD's sequence order.
 */
export const SUBSONIC_API_VERSION = '1.16.1';
export const SERVER_TYPE = 'earshot';
export const XMLNS = 'http://subsonic.org/restapi';

export type Format = 'xml' | 'json' | 'jsonp';

/** Text-only child element (XML `<biography>…</biography>`, JSON `"biography": "…"`). */
export class Text {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: a payload is an arbitrary JSON-like tree
export type Node = Record<string, any>;

/**
 * A list item (an element of an array member) whose text is written once and then reused: the
 * same bytes as its node would give in place (the writers below render it), kept by whoever made
 * it for as long as the node cannot change (subsonic/fragments.ts: songs, albums and artists while
 * the catalog holds). The node is built only when a format is first asked for, and not kept.
 */
export class Fragment {
  private jsonText: string | undefined;
  private xmlText: string | undefined;
  private xmlName = '';

  constructor(private readonly build: () => Node) {}

  json(): string {
    if (this.jsonText === undefined) this.jsonText = jsonObject(this.build());
    return this.jsonText;
  }

  /** The element named `name` (the array member it is listed under). */
  xml(name: string): string {
    if (this.xmlText === undefined || this.xmlName !== name) {
      this.xmlText = xmlElement(name, this.build());
      this.xmlName = name;
    }
    return this.xmlText;
  }

  /** Anything else that walks the tree (tests, logs) sees the node. */
  toJSON(): Node {
    return this.build();
  }
}

/** OpenSubsonic list fields: "if a server supports a field it must always emit it" (as []). */
export const ALWAYS_LISTS = new Set([
  'isrc',
  'genres',
  'moods',
  'artists',
  'albumArtists',
  'contributors',
  'releaseTypes',
  'recordLabels',
  'discTitles',
]);

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
// Characters XML 1.0 cannot carry at all (control characters from tags would break every parser).
const XML_INVALID =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

// Anything escapeXml would change (surrogates too: most are valid pairs, checked the slow way).
const XML_SPECIAL = /[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/;

export function escapeXml(value: string): string {
  if (!XML_SPECIAL.test(value)) return value; // most names and ids: one scan, no copy
  return value.replace(XML_INVALID, '\ufffd').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

function isPrimitive(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function primitiveText(v: string | number | boolean): string {
  if (typeof v === 'string') return escapeXml(v);
  return typeof v === 'number' && !Number.isFinite(v) ? '0' : String(v);
}

/** One element and its subtree as XML text (attributes, then the text, then child elements). */
function xmlElement(name: string, node: Node): string {
  let attrs = '';
  let text: string | null = null;
  let children = '';
  for (const k in node) {
    const v = node[k];
    if (v === undefined || v === null) continue;
    if (isPrimitive(v)) {
      if (k === 'value') text = primitiveText(v);
      else attrs += ` ${k}="${primitiveText(v)}"`;
    } else if (Array.isArray(v)) {
      for (const item of v) {
        if (isPrimitive(item)) children += `<${k}>${primitiveText(item)}</${k}>`;
        else if (item instanceof Text) children += `<${k}>${escapeXml(item.text)}</${k}>`;
        else if (item instanceof Fragment) children += item.xml(k);
        else if (item !== null && item !== undefined) children += xmlElement(k, item as Node);
      }
    } else if (v instanceof Text) children += `<${k}>${escapeXml(v.text)}</${k}>`;
    else if (v instanceof Fragment) children += v.xml(k);
    else children += xmlElement(k, v as Node);
  }
  if (text === null && children === '') return `<${name}${attrs}/>`;
  return `<${name}${attrs}>${text ?? ''}${children}</${name}>`;
}

export interface Envelope {
  status: 'ok' | 'failed';
  serverVersion: string;
  /** `{ playlist: {...} }`, `{ error: {code, message} }`, or `{}` for an empty success. */
  payload: Node;
}

export function envelopeAttributes(e: Envelope): Node {
  return {
    status: e.status,
    version: SUBSONIC_API_VERSION,
    type: SERVER_TYPE,
    serverVersion: e.serverVersion,
    openSubsonic: true,
  };
}

export function renderXml(e: Envelope): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${xmlElement('subsonic-response', { xmlns: XMLNS, ...envelopeAttributes(e), ...e.payload })}`;
}

/** The same text as `JSON.stringify(toJsonTree(node))`, written directly (no copy of the tree). */
function jsonObject(node: Node): string {
  let out = '{';
  let first = true;
  for (const k in node) {
    const v = node[k];
    if (v === undefined || v === null) continue;
    let part: string;
    if (Array.isArray(v)) {
      if (v.length === 0 && !ALWAYS_LISTS.has(k)) continue;
      part = '[';
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        // As JSON.stringify writes a non-finite number inside an array.
        if (i > 0) part += ',';
        part += typeof item === 'number' && !Number.isFinite(item) ? 'null' : jsonValue(item);
      }
      part += ']';
    } else part = jsonValue(v);
    out += `${first ? '' : ','}${quotedKey(k)}:${part}`;
    first = false;
  }
  return `${out}}`;
}

function jsonValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '0';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Text) return JSON.stringify(v.text);
  if (v instanceof Fragment) return v.json();
  return jsonObject(v as Node);
}

const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 1000) quotedKeys.set(k, q);
  }
  return q;
}

export function renderJson(e: Envelope): string {
  return `{"subsonic-response":${jsonObject({ ...envelopeAttributes(e), ...e.payload })}}`;
}

/** A JSONP callback must be a plain (dotted) JS identifier: nothing else reaches the page. */
export const CALLBACK_PATTERN = /^[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,4}$/;

export interface Rendered {
  body: string;
  contentType: string;
}

export function render(e: Envelope, format: Format, callback?: string): Rendered {
  if (format === 'json') return { body: renderJson(e), contentType: 'application/json; charset=utf-8' };
  if (format === 'jsonp' && callback) {
    return { body: `${callback}(${renderJson(e)});`, contentType: 'application/javascript; charset=utf-8' };
  }
  return { body: renderXml(e), contentType: 'text/xml; charset=utf-8' };
}
