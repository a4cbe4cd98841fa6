// A scripted browserless user agent: a cookie jar shared across ports of a host (as browsers
// do), manual redirect following across hosts (nginx <-> IdP), every hop kept, form submission.
import { request } from './http.mjs';

const MAX_HOPS = 20;

function parseSetCookie(header, url) {
  const [pair, ...attrs] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const c = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: '/', secure: false, expired: false };
  const defaultPath = url.pathname.slice(0, url.pathname.lastIndexOf('/')) || '/';
  c.path = defaultPath;
  for (const a of attrs) {
    const [k, ...v] = a.split('=');
    const key = k.trim().toLowerCase();
    const val = v.join('=').trim();
    if (key === 'path' && val.startsWith('/')) c.path = val;
    else if (key === 'secure') c.secure = true;
    else if (key === 'max-age' && Number(val) <= 0) c.expired = true;
    else if (key === 'expires' && Date.parse(val) <= Date.now()) c.expired = true;
  }
  return c;
}

const pathMatches = (cookiePath, reqPath) => reqPath === cookiePath
  || (reqPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/'));

// One hop: { url, method, status, headers, body, setCookies, location (absolute or undefined) }.
export class Agent {
  constructor() {
    this.jar = new Map();  // hostname -> Map(`${name}\0${path}` -> cookie)
  }

  store(url, setCookies) {
    const host = url.hostname;
    if (!this.jar.has(host)) this.jar.set(host, new Map());
    const cookies = this.jar.get(host);
    for (const h of setCookies) {
      const c = parseSetCookie(h, url);
      if (!c) continue;
      const key = `${c.name}\0${c.path}`;
      if (c.expired) cookies.delete(key);
      else cookies.set(key, c);
    }
  }

  // The Cookie header this agent sends to `url` (longest paths first, as browsers do).
  cookieHeader(url) {
    const u = new URL(url);
    const cookies = [...(this.jar.get(u.hostname)?.values() ?? [])]
      .filter((c) => pathMatches(c.path, u.pathname) && (!c.secure || u.protocol === 'https:'))
      .sort((a, b) => b.path.length - a.path.length);
    return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  // The value of cookie `name` held for `url`'s host (any path).
  cookie(url, name) {
    for (const c of this.jar.get(new URL(url).hostname)?.values() ?? []) if (c.name === name) return c.value;
    return undefined;
  }

  setCookie(url, name, value, path = '/') {
    this.store(new URL(url), [`${name}=${value}; Path=${path}`]);
  }

  // One request with the jar's cookies; Set-Cookie goes into the jar.
  async fetch(url, { method = 'GET', headers = {}, body } = {}) {
    const u = new URL(url);
    const cookie = this.cookieHeader(u);
    const res = await request(u.origin, `${u.pathname}${u.search}`, {
      method, body, headers: { ...(cookie ? { Cookie: cookie } : {}), ...headers },
    });
    this.store(u, res.setCookies);
    const location = res.headers.location ? new URL(res.headers.location, u).href : undefined;
    return { url: u.href, method, ...res, location };
  }

  // Follows redirects from `url` and returns { hops, last, location }. Stops at a response
  // that is not a redirect, or before requesting a location for which `stopAt` (a URL prefix
  // or a predicate on the URL) holds: `location` is then that URL, not fetched.
  async follow(url, { stopAt, method = 'GET', headers = {}, body, maxHops = MAX_HOPS } = {}) {
    const stop = typeof stopAt === 'string' ? (u) => u.startsWith(stopAt) : stopAt ?? (() => false);
    const hops = [];
    let next = { url, method, body };
    for (;;) {
      if (hops.length >= maxHops) throw new Error(`more than ${maxHops} redirects: ${hops.map((h) => h.url).join(' -> ')}`);
      const hop = await this.fetch(next.url, { method: next.method, headers: hops.length === 0 ? headers : {}, body: next.body });
      hops.push(hop);
      if (![301, 302, 303, 307, 308].includes(hop.status) || !hop.location) {
        return { hops, last: hop, location: undefined };
      }
      if (stop(hop.location)) return { hops, last: hop, location: hop.location };
      const keep = hop.status === 307 || hop.status === 308;
      next = { url: hop.location, method: keep ? next.method : 'GET', body: keep ? next.body : undefined };
    }
  }

  // Submits the first form in `hop.body` (or the one whose id is `formId`) with its own
  // fields (hidden and prefilled inputs) plus `fields`, then follows redirects like follow().
  submitForm(hop, fields = {}, { formId, ...followOptions } = {}) {
    const form = parseForm(hop.body, formId);
    if (!form) throw new Error(`no form${formId ? ` #${formId}` : ''} in ${hop.url}: ${hop.body.slice(0, 300)}`);
    const action = new URL(form.action || hop.url, hop.url).href;
    const data = new URLSearchParams({ ...form.fields, ...fields }).toString();
    if (form.method === 'GET') return this.follow(`${action.split('?')[0]}?${data}`, followOptions);
    return this.follow(action, {
      ...followOptions, method: 'POST', body: data,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
  }
}

const unescapeHtml = (s) => s.replace(/&(#(\d+)|#x([0-9a-f]+)|amp|lt|gt|quot|apos);/gi, (_m, _e, dec, hex) => {
  if (dec) return String.fromCharCode(Number(dec));
  if (hex) return String.fromCharCode(parseInt(hex, 16));
  return { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" }[_m.toLowerCase()];
});

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  return m ? unescapeHtml(m[2] ?? m[3] ?? m[4]) : undefined;
}

// { action, method, fields } of a form in an HTML page; enough for the pages tests meet.
export function parseForm(html, formId) {
  const forms = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)].map((m) => m[0]);
  const form = formId ? forms.find((f) => attr(f.match(/<form\b[^>]*>/i)[0], 'id') === formId) : forms[0];
  if (!form) return undefined;
  const open = form.match(/<form\b[^>]*>/i)[0];
  const fields = {};
  for (const [input] of form.matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(input, 'name');
    const type = (attr(input, 'type') ?? 'text').toLowerCase();
    if (!name || ['submit', 'button', 'checkbox', 'radio', 'file'].includes(type)) continue;
    fields[name] = attr(input, 'value') ?? '';
  }
  return { action: attr(open, 'action'), method: (attr(open, 'method') ?? 'GET').toUpperCase(), fields };
}
