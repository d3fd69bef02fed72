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
const XMLNS = 'http://subsonic.org/restapi';

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

/** OpenSubsonic list fields: "if a server supports a field it must always emit it" (as []). */
const ALWAYS_LISTS = new Set([
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

export function escapeXml(value: string): string {
  return value.replace(XML_INVALID, '\ufffd').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

function isPrimitive(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function primitiveText(v: string | number | boolean): string {
  return escapeXml(typeof v === 'number' && !Number.isFinite(v) ? '0' : String(v));
}

function writeElement(name: string, node: Node, out: string[]): void {
  out.push('<', name);
  let text: string | null = null;
  for (const [k, v] of Object.entries(node)) {
    if (v === undefined || v === null) continue;
    if (k === 'value' && isPrimitive(v)) text = primitiveText(v);
    else if (isPrimitive(v)) out.push(' ', k, '="', primitiveText(v), '"');
  }
  const children: string[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (v === undefined || v === null || isPrimitive(v)) continue;
    if (Array.isArray(v)) {
      for (const item of v) {
        if (isPrimitive(item)) children.push('<', k, '>', primitiveText(item), '</', k, '>');
        else if (item instanceof Text) children.push('<', k, '>', escapeXml(item.text), '</', k, '>');
        else if (item !== null && item !== undefined) writeElement(k, item as Node, children);
      }
    } else if (v instanceof Text) children.push('<', k, '>', escapeXml(v.text), '</', k, '>');
    else writeElement(k, v as Node, children);
  }
  if (text === null && children.length === 0) {
    out.push('/>');
    return;
  }
  out.push('>');
  if (text !== null) out.push(text);
  for (const c of children) out.push(c);
  out.push('</', name, '>');
}

function toJsonTree(node: Node): Node {
  const out: Node = {};
  for (const [k, v] of Object.entries(node)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      if (v.length === 0 && !ALWAYS_LISTS.has(k)) continue;
      out[k] = v.map((item) => (isPrimitive(item) || item instanceof Text ? item : toJsonTree(item as Node)));
    } else if (isPrimitive(v) || v instanceof Text) out[k] = typeof v === 'number' && !Number.isFinite(v) ? 0 : v;
    else out[k] = toJsonTree(v as Node);
  }
  return out;
}

export interface Envelope {
  status: 'ok' | 'failed';
  serverVersion: string;
  /** `{ playlist: {...} }`, `{ error: {code, message} }`, or `{}` for an empty success. */
  payload: Node;
}

function envelopeAttributes(e: Envelope): Node {
  return {
    status: e.status,
    version: SUBSONIC_API_VERSION,
    type: SERVER_TYPE,
    serverVersion: e.serverVersion,
    openSubsonic: true,
  };
}

export function renderXml(e: Envelope): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  writeElement('subsonic-response', { xmlns: XMLNS, ...envelopeAttributes(e), ...e.payload }, out);
  return out.join('');
}

export function renderJson(e: Envelope): string {
  return JSON.stringify({ 'subsonic-response': { ...envelopeAttributes(e), ...toJsonTree(e.payload) } });
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
