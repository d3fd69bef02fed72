/**
 * The straightforward renderings the envelope's writers replaced (a copied tree then
 * JSON.stringify; XML built from arrays with two escaping passes per value): envelope.test.ts checks
 * that the faster writers produce exactly the same text.
 */
import { ALWAYS_LISTS, type Envelope, envelopeAttributes, type Node, Text, XMLNS } from '../../subsonic/envelope.js';

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const XML_INVALID =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const escapeXml = (value: string) => value.replace(XML_INVALID, '\ufffd').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);

const isPrimitive = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

const primitiveText = (v: string | number | boolean) =>
  escapeXml(typeof v === 'number' && !Number.isFinite(v) ? '0' : String(v));

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

export function toJsonTree(node: Node): Node {
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

export function renderXmlReference(e: Envelope): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  writeElement('subsonic-response', { xmlns: XMLNS, ...envelopeAttributes(e), ...e.payload }, out);
  return out.join('');
}

export function renderJsonReference(e: Envelope): string {
  return JSON.stringify({ 'subsonic-response': { ...envelopeAttributes(e), ...toJsonTree(e.payload) } });
}
