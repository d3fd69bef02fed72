/**
 * Subsonic request parameters: the query string merged with a form POST body (OpenSubsonic
 * `formPost`). Repeated names are lists (`id=1&id=2`). Typed getters turn missing values into
 * error 10 and malformed ones into error 0 with the parameter named.
 */
import { ErrorCode, missing, SubsonicError } from './errors.js';

type Raw = Record<string, unknown>;

function values(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.flatMap(values);
  return [String(v)];
}

export class Params {
  private readonly map = new Map<string, string[]>();

  constructor(...sources: (Raw | undefined | null)[]) {
    for (const source of sources) {
      if (!source || typeof source !== 'object') continue;
      for (const [k, v] of Object.entries(source)) this.map.set(k, [...(this.map.get(k) ?? []), ...values(v)]);
    }
  }

  has(name: string): boolean {
    return (this.map.get(name)?.length ?? 0) > 0;
  }

  str(name: string): string | undefined {
    return this.map.get(name)?.[0];
  }

  req(name: string): string {
    const v = this.str(name);
    if (v === undefined || v === '') throw missing(name);
    return v;
  }

  /** Every value, empty ones included. */
  all(name: string): string[] {
    return [...(this.map.get(name) ?? [])];
  }

  replace(name: string, values: string[]): void {
    this.map.set(name, values);
  }

  list(name: string): string[] {
    return (this.map.get(name) ?? []).filter((v) => v !== '');
  }

  int(name: string, fallback: number, bounds: { min?: number; max?: number } = {}): number {
    const v = this.str(name);
    if (v === undefined || v === '') return fallback;
    if (!/^-?\d{1,15}$/.test(v.trim())) {
      throw new SubsonicError(ErrorCode.Generic, `Parameter ${name} must be a whole number, got "${v.slice(0, 40)}".`);
    }
    let n = Number(v);
    if (bounds.min !== undefined) n = Math.max(bounds.min, n);
    if (bounds.max !== undefined) n = Math.min(bounds.max, n);
    return n;
  }

  optInt(name: string): number | undefined {
    return this.has(name) && this.str(name) !== '' ? this.int(name, 0) : undefined;
  }

  reqInt(name: string): number {
    this.req(name);
    return this.int(name, 0);
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.str(name)?.toLowerCase();
    if (v === undefined || v === '') return fallback;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new SubsonicError(ErrorCode.Generic, `Parameter ${name} must be true or false.`);
  }
}
