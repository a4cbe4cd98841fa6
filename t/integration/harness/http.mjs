// HTTP helpers: raw requests on fresh connections, a cookie jar, and sign-in.
import http from 'node:http';
import https from 'node:https';

// One request on its own connection; resolves { status, headers, body, setCookies }.
// `pathname` is sent as given when it starts with "/" (even "//host/..."), so tests can
// send request targets a URL parser would reinterpret.
export function request(base, pathname, { method = 'GET', headers = {}, body } = {}) {
  const url = new URL(base);
  const target = pathname.startsWith('/') ? pathname : new URL(pathname, base).pathname;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request({
      host: url.hostname, port: url.port, path: target, method,
      headers: { Connection: 'close', ...headers }, agent: false, rejectUnauthorized: false,
    }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, body: data,
        setCookies: res.headers['set-cookie'] || [],
      }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function cookieValue(setCookies, name) {
  for (const c of setCookies) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1);
  }
  return undefined;
}

export function form(fields) {
  return new URLSearchParams(fields).toString();
}

export async function loginPage(base, rd) {
  const res = await request(base, rd === undefined ? '/_authgate/login' : `/_authgate/login?rd=${encodeURIComponent(rd)}`);
  const m = res.body.match(/name="csrf" value="([^"]+)"/);
  return { res, csrf: m && m[1], csrfCookie: cookieValue(res.setCookies, 'authgate_csrf') };
}

// Posts the sign-in form; `cookies` are extra Cookie pairs to send.
export async function submitLogin(base, { username, password, rd = '/', csrf, csrfCookie, cookies = [] }) {
  const jar = [...cookies];
  if (csrfCookie) jar.push(`authgate_csrf=${csrfCookie}`);
  return request(base, '/_authgate/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(jar.length ? { Cookie: jar.join('; ') } : {}) },
    body: form({ username, password, rd, csrf: csrf ?? '' }),
  });
}

// Full sign-in; returns the session cookie value (throws when sign-in fails).
export async function signIn(base, username, password, { rd = '/', cookies = [] } = {}) {
  const { csrf, csrfCookie } = await loginPage(base, rd);
  const res = await submitLogin(base, { username, password, rd, csrf, csrfCookie, cookies });
  const session = cookieValue(res.setCookies, 'authgate_session');
  if (res.status !== 303 || !session) throw new Error(`sign-in failed: ${res.status} ${res.body.slice(0, 200)}`);
  return session;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The sign-out confirmation page for a session: { res, csrf, rd } (csrf undefined when the
// page is not the confirmation form).
export async function logoutPage(base, session, { rd, cookie = 'authgate_session' } = {}) {
  const res = await request(base, rd === undefined ? '/_authgate/logout' : `/_authgate/logout?rd=${encodeURIComponent(rd)}`,
    { headers: { Cookie: `${cookie}=${session}` } });
  const m = res.body.match(/name="csrf" value="([^"]+)"/);
  return { res, csrf: m ? m[1] : undefined };
}

// Signs a session out as a browser does: the confirmation page, then its form posted
// with the session's CSRF token (`everywhere` ends every session of the user).
export async function logout(base, session, { rd, everywhere = false, cookie = 'authgate_session' } = {}) {
  const { res, csrf } = await logoutPage(base, session, { rd, cookie });
  if (csrf === undefined) throw new Error(`no sign-out confirmation: ${res.status} ${res.body.slice(0, 200)}`);
  return request(base, '/_authgate/logout', {
    method: 'POST',
    headers: { Cookie: `${cookie}=${session}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form({ csrf, ...(rd === undefined ? {} : { rd }), ...(everywhere ? { everywhere: '1' } : {}) }),
  });
}
