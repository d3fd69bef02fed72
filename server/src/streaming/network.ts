/** Is a client address on this machine or the local network (where the original file is cheap)? */
import { isIPv4 } from 'node:net';

function v4InLan(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number);
  return (
    a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
  );
}

export function isLanAddress(ip: string | undefined): boolean {
  if (!ip) return false;
  const mapped = ip.toLowerCase().startsWith('::ffff:') ? ip.slice(7) : ip;
  if (isIPv4(mapped)) return v4InLan(mapped);
  const v6 = mapped.toLowerCase();
  // Loopback, unique-local (fc00::/7) and link-local (fe80::/10).
  return v6 === '::1' || v6.startsWith('fc') || v6.startsWith('fd') || /^fe[89ab]/.test(v6);
}
