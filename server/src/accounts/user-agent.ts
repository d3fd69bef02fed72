/**
 * Browser and OS names for the sessions list ("Firefox on Android", not a 200-character
 * user-agent string). A few ordered rules cover the browsers and apps people actually use; order
 * matters because most browsers claim to be Safari and Chrome as well. Unknown agents keep a
 * short product name (e.g. an API client's "DSub/5.5") or null.
 */
export interface AgentNames {
  browser: string | null;
  os: string | null;
}

const BROWSERS: [RegExp, string][] = [
  [/\bEdgA?\/|\bEdg(?:iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/HeadlessChrome\//, 'Chrome (headless)'],
  [/\bCriOS\/|\bChrome\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bMSIE |\bTrident\//, 'Internet Explorer'],
];

const SYSTEMS: [RegExp, string][] = [
  [/\bAndroid\b/, 'Android'],
  [/\biPhone\b|\biPod\b/, 'iOS'],
  [/\biPad\b/, 'iPadOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

export function describeUserAgent(ua: string | null | undefined): AgentNames {
  if (!ua) return { browser: null, os: null };
  const s = ua.slice(0, 512);
  const os = SYSTEMS.find(([re]) => re.test(s))?.[1] ?? null;
  let browser = BROWSERS.find(([re]) => re.test(s))?.[1] ?? null;
  if (!browser) {
    // Not a browser: an app or a tool; its first product token reads well enough ("curl/8.5.0").
    const product = /^([A-Za-z][\w.+-]{0,40})(?:\/([\w.+-]{1,20}))?/.exec(s);
    browser = product && product[1] !== 'Mozilla' ? (product[2] ? `${product[1]}/${product[2]}` : product[1]) : null;
  }
  return { browser, os };
}

/** "Firefox on Android", "Chrome", "curl/8.5.0", or "Unknown device". */
export function describeDevice(ua: string | null | undefined): string {
  const { browser, os } = describeUserAgent(ua);
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os ?? 'Unknown device';
}
