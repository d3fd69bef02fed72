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
 * same bytes as its node would give in place (the writers below copy them into a response), kept
 * by whoever made it for as long as the node cannot change (subsonic/fragments.ts: songs, albums
 * and artists while the catalog holds). The node is built only when a format is first asked for,
 * and not kept. Kept as UTF-8 bytes: a response made of fragments is a copy of bytes, with no
 * string to flatten and encode again per request.
 */
export class Fragment {
  private jsonText: Buffer | undefined;
  private xmlText: Buffer | undefined;
  private xmlName = '';

  constructor(private readonly build: () => Node) {}

  /** The JSON object, as UTF-8. */
  json(): Buffer {
    if (this.jsonText === undefined) {
      const node = this.build();
      if (stringifiable(node)) {
        // V8's JSON.stringify writes such a tree faster (~1.5× for a song) than the writer below, with
        // the same text (envelope.test.ts compares them): the first asker of a song pays less.
        this.jsonText = Buffer.from(JSON.stringify(node), 'utf8');
      } else {
        const out = new Sink();
        writeJsonObject(node, out);
        this.jsonText = out.finish();
      }
    }
    return this.jsonText;
  }

  /** The element named `name` (the array member it is listed under), as UTF-8. */
  xml(name: string): Buffer {
    if (this.xmlText === undefined || this.xmlName !== name) {
      const out = new Sink();
      writeXmlElement(name, this.build(), out);
      this.xmlText = out.finish();
      this.xmlName = name;
    }
    return this.xmlText;
  }

  /** Anything else that walks the tree (tests, logs) sees the node. */
  toJSON(): Node {
    return this.build();
  }
}

/**
 * Text written in order and handed over as one UTF-8 buffer: strings as they come (short runs
 * between fragments), pre-rendered bytes copied as they are. One allocation for the response.
 */
class Sink {
  private readonly parts: (string | Buffer)[] = [];
  private pending = '';

  text(s: string): void {
    this.pending += s;
  }

  bytes(b: Buffer): void {
    if (this.pending !== '') {
      this.parts.push(this.pending);
      this.pending = '';
    }
    this.parts.push(b);
  }

  finish(): Buffer {
    const { parts } = this;
    if (this.pending !== '') parts.push(this.pending);
    this.pending = '';
    if (parts.length === 1 && typeof parts[0] !== 'string') return parts[0];
    let size = 0;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      size += typeof p === 'string' ? (isShortAscii(p) ? p.length : Buffer.byteLength(p, 'utf8')) : p.length;
    }
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (typeof p !== 'string') {
        out.set(p, at); // a typed-array copy: cheaper than Buffer#copy for parts this small
        at += p.length;
      } else if (isShortAscii(p)) {
        // The `,` between two list items (JSON) and the like: no trip into the encoder for a byte.
        for (let j = 0; j < p.length; j++) out[at++] = p.charCodeAt(j);
      } else at += out.write(p, at, 'utf8');
    }
    return out;
  }
}

/** A run of at most a few ASCII characters (written byte by byte). */
function isShortAscii(s: string): boolean {
  if (s.length > 8) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
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
function writeXmlElement(name: string, node: Node, out: Sink): void {
  let attrs = '';
  let text: string | null = null;
  let children = false;
  for (const k in node) {
    const v = node[k];
    if (v === undefined || v === null) continue;
    if (isPrimitive(v)) {
      if (k === 'value') text = primitiveText(v);
      else attrs += ` ${k}="${primitiveText(v)}"`;
    } else if (!Array.isArray(v)) children = true;
    else if (!children) for (let i = 0; i < v.length && !children; i++) children = v[i] !== null && v[i] !== undefined;
  }
  if (text === null && !children) {
    out.text(`<${name}${attrs}/>`);
    return;
  }
  out.text(`<${name}${attrs}>${text ?? ''}`);
  if (children) {
    for (const k in node) {
      const v = node[k];
      if (v === undefined || v === null || isPrimitive(v)) continue;
      if (Array.isArray(v)) {
        for (const item of v) {
          if (isPrimitive(item)) out.text(`<${k}>${primitiveText(item)}</${k}>`);
          else if (item instanceof Text) out.text(`<${k}>${escapeXml(item.text)}</${k}>`);
          else if (item instanceof Fragment) out.bytes(item.xml(k));
          else if (item !== null && item !== undefined) writeXmlElement(k, item as Node, out);
        }
      } else if (v instanceof Text) out.text(`<${k}>${escapeXml(v.text)}</${k}>`);
      else if (v instanceof Fragment) out.bytes(v.xml(k));
      else writeXmlElement(k, v as Node, out);
    }
  }
  out.text(`</${name}>`);
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

function writeXml(e: Envelope, out: Sink): void {
  out.text('<?xml version="1.0" encoding="UTF-8"?>');
  writeXmlElement('subsonic-response', { xmlns: XMLNS, ...envelopeAttributes(e), ...e.payload }, out);
}

export function renderXml(e: Envelope): string {
  const out = new Sink();
  writeXml(e, out);
  return out.finish().toString('utf8');
}

/**
 * Whether `JSON.stringify(node)` gives exactly what `writeJsonObject` writes: plain objects and
 * arrays of strings, booleans and finite numbers, with no null members (the writer leaves them out),
 * no empty arrays but the always-sent lists (the writer leaves the others out), no non-finite numbers
 * (the writer writes 0) and no Text or Fragment members (they have their own rules).
 */
function stringifiable(node: Node): boolean {
  if (Object.getPrototypeOf(node) !== Object.prototype) return false;
  for (const k in node) {
    const v = node[k];
    if (v === undefined || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
    } else if (Array.isArray(v)) {
      if (v.length === 0 && !ALWAYS_LISTS.has(k)) return false;
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (typeof item === 'string' || typeof item === 'boolean') continue;
        if (typeof item === 'number') {
          if (!Number.isFinite(item)) return false;
        } else if (item === null || typeof item !== 'object' || Array.isArray(item) || !stringifiable(item))
          return false;
      }
    } else if (v === null || typeof v !== 'object' || !stringifiable(v)) return false;
  }
  return true;
}

/** The same text as `JSON.stringify(toJsonTree(node))`, written directly (no copy of the tree). */
function writeJsonObject(node: Node, out: Sink): void {
  let sep = '{';
  for (const k in node) {
    const v = node[k];
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      if (v.length === 0 && !ALWAYS_LISTS.has(k)) continue;
      out.text(`${sep}${quotedKey(k)}:[`);
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (i > 0) out.text(',');
        // As JSON.stringify writes a non-finite number inside an array.
        if (typeof item === 'number' && !Number.isFinite(item)) out.text('null');
        else writeJsonValue(item, out);
      }
      out.text(']');
    } else {
      out.text(`${sep}${quotedKey(k)}:`);
      writeJsonValue(v, out);
    }
    sep = ',';
  }
  out.text(sep === '{' ? '{}' : '}');
}

function writeJsonValue(v: unknown, out: Sink): void {
  if (typeof v === 'string') out.text(JSON.stringify(v));
  else if (typeof v === 'number') out.text(Number.isFinite(v) ? String(v) : '0');
  else if (typeof v === 'boolean') out.text(v ? 'true' : 'false');
  else if (v instanceof Text) out.text(JSON.stringify(v.text));
  else if (v instanceof Fragment) out.bytes(v.json());
  else writeJsonObject(v as Node, out);
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

function writeJson(e: Envelope, out: Sink): void {
  out.text('{"subsonic-response":');
  writeJsonObject({ ...envelopeAttributes(e), ...e.payload }, out);
  out.text('}');
}

export function renderJson(e: Envelope): string {
  const out = new Sink();
  writeJson(e, out);
  return out.finish().toString('utf8');
}

/** A JSONP callback must be a plain (dotted) JS identifier: nothing else reaches the page. */
export const CALLBACK_PATTERN = /^[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,4}$/;

export interface Rendered<B = string> {
  body: B;
  contentType: string;
}

/** The response as UTF-8 bytes (what routes send: no string to measure and encode again). */
export function renderBytes(e: Envelope, format: Format, callback?: string): Rendered<Buffer> {
  const out = new Sink();
  if (format === 'json') {
    writeJson(e, out);
    return { body: out.finish(), contentType: 'application/json; charset=utf-8' };
  }
  if (format === 'jsonp' && callback) {
    out.text(`${callback}(`);
    writeJson(e, out);
    out.text(');');
    return { body: out.finish(), contentType: 'application/javascript; charset=utf-8' };
  }
  writeXml(e, out);
  return { body: out.finish(), contentType: 'text/xml; charset=utf-8' };
}

/** The same response as text (tests, tools). */
export function render(e: Envelope, format: Format, callback?: string): Rendered {
  const { body, contentType } = renderBytes(e, format, callback);
  return { body: body.toString('utf8'), contentType };
}
