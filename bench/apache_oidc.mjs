// bench/apache's OpenID Provider for the mod_auth_openidc peers, and a sign-in through one.
//   node bench/apache_oidc.mjs idp <client secret> <redirect uri>...
//     starts the test IdP (the integration harness's, auto-login as alice) with one client
//     "bench" allowed to use those redirect URIs, prints its issuer, runs until SIGTERM.
//   node bench/apache_oidc.mjs login <protected url>
//     completes the authorization-code flow as a browser would (redirects followed by hand,
//     cookies kept) and prints the session cookie mod_auth_openidc set, as name=value.
import http from 'node:http';
import { startIdp } from '../t/integration/harness/idp.mjs';

const sessionCookie = 'mod_auth_openidc_session';

async function runIdp(secret, redirectUris) {
  const idp = await startIdp({
    clients: [{ client_id: 'bench', client_secret: secret, redirect_uris: redirectUris }],
  });
  const stop = () => idp.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(idp.issuer);
}

// Every host here is 127.0.0.1 (cookies ignore ports), so one name -> value jar will do.
function keepCookies(jar, setCookies = []) {
  for (const line of setCookies) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)
      || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
    if (value === '' || expired) jar.delete(name);
    else jar.set(name, value);
  }
}

// One GET as a browser's top-level navigation. node:http, not fetch(): fetch always sends
// Sec-Fetch-Mode: cors, which mod_auth_openidc answers like an XHR (401, no redirect).
function navigate(url, jar) {
  const headers = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
  if (jar.size) headers.cookie = [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
  return new Promise((resolve, reject) => {
    http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

async function login(start) {
  const jar = new Map();
  let url = new URL(start);
  for (let hop = 0; hop < 20; hop++) {
    const res = await navigate(url, jar);
    keepCookies(jar, res.headers['set-cookie']);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.location, url);
      continue;
    }
    if (res.status !== 200 || !jar.has(sessionCookie)) {
      throw new Error(`sign-in ended at ${url} with ${res.status}, no session: ${res.body.slice(0, 300)}`);
    }
    console.log(`${sessionCookie}=${jar.get(sessionCookie)}`);
    return;
  }
  throw new Error(`more than 20 redirects from ${start}`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'idp') await runIdp(args[0], args.slice(1));
else if (mode === 'login') await login(args[0]);
else throw new Error('usage: apache_oidc.mjs idp <secret> <redirect uri>... | login <url>');
