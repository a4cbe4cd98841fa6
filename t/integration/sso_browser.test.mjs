// The SSO code flow in real headless Chromium: sign-in page, IdP login form, callback, session cookie, default provider.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { idpAccounts, idpClient, startIdp } from './harness/idp.mjs';
import { launchBrowser } from './harness/browser.mjs';

const idp = {};
const browsers = [];
after(async () => {
  for (const b of browsers) await b.close();
  if (idp.server) await idp.server.stop();
});

const secret = 'browser-client-secret-0123456789abcdef';
// The gate is visited as http://localhost:PORT while the IdP is http://127.0.0.1:PORT, so the
// IdP's redirect back to the callback is a cross-site navigation, as with a real IdP.
const gate = gatedServer({
  publicOrigin: (port) => `http://localhost:${port}`,
  prepare: async () => { idp.server = await startIdp({ interaction: 'form' }); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`),
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret "label=Corp SSO" scopes=openid,email,profile,groups;`,
  locations: (backend) => `
        location /direct/ {
            authgate on;
            authgate_default_provider corp;
            proxy_pass http://127.0.0.1:${backend};
        }`,
  started: async (g) => {
    g.host = `http://localhost:${g.port}`;
    await idp.server.addClient(idpClient({
      client_id: 'gate', client_secret: secret, redirect_uris: [`${g.host}/_authgate/callback/corp`],
    }));
  },
});

async function browser() {
  const b = await launchBrowser();
  browsers.push(b);
  return b;
}

// Fills and submits the IdP's login form; resolves the response of `landing` (the page the
// chain of redirects ends on) and the URLs the browser went through on the way.
async function signInAtIdp(page, landing, account = 'alice') {
  assert.ok(page.url().startsWith(`${idp.server.issuer}/interaction/`), `at the IdP form, not ${page.url()}`);
  await page.fill('#username', account);
  await page.fill('#password', idpAccounts[account].password);
  const urls = [];
  const onRequest = (req) => { if (req.isNavigationRequest()) urls.push(req.url()); };
  page.on('request', onRequest);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url() === landing && r.request().isNavigationRequest()),
    page.click('#submit'),
  ]);
  await page.waitForURL(landing);
  page.off('request', onRequest);
  return { res, urls };
}

test('Chromium: protected page -> sign-in page -> provider button -> IdP form -> back with the identity', async () => {
  const { page, context } = await browser();
  const target = `${gate.host}/app/page?x=1`;

  const first = await page.goto(target);
  assert.equal(first.status(), 200);
  const login = new URL(page.url());
  assert.equal(`${login.origin}${login.pathname}`, `${gate.host}/_authgate/login`);
  assert.equal(login.searchParams.get('rd'), '/app/page?x=1');
  const button = page.getByRole('link', { name: 'Sign in with Corp SSO' });
  assert.equal(await button.count(), 1);

  await Promise.all([page.waitForURL(`${idp.server.issuer}/interaction/**`), button.click()]);
  assert.ok(await page.isVisible('#username'));
  const flowCookie = (await context.cookies(gate.host)).find((c) => c.name === 'authgate_flow');
  assert.ok(flowCookie, 'the flow cookie binds the sign-in to this browser');
  assert.equal(flowCookie.sameSite, 'Lax');

  const { res, urls } = await signInAtIdp(page, target);
  assert.equal(res.status(), 200);
  assert.ok(urls.some((u) => u.startsWith(`${gate.host}/_authgate/callback/corp?`)),
    `went through the callback: ${urls.join(' ')}`);
  const echoed = await res.json();
  assert.equal(echoed.user, 'alice');
  assert.equal(echoed.email, 'alice@example.com');
  assert.equal(echoed.name, 'Alice A');
  assert.equal(echoed.groups, 'admins,staff');
  assert.equal(echoed.uri, '/app/page?x=1');
  assert.doesNotMatch(echoed.cookie, /authgate_/, 'the gate\'s cookies never reach the upstream');
  assert.equal(res.headers()['x-status'], 'allowed');

  // Chromium's cookie jar: the session cookie is HttpOnly, SameSite=Lax, host-only, and not
  // Secure over plain http; the flow cookie is spent.
  const cookies = await context.cookies(gate.host);
  const session = cookies.filter((c) => c.name === 'authgate_session');
  assert.equal(session.length, 1, JSON.stringify(cookies));
  assert.equal(session[0].httpOnly, true);
  assert.equal(session[0].sameSite, 'Lax');
  assert.equal(session[0].secure, false);
  assert.equal(session[0].path, '/');
  assert.equal(session[0].domain, 'localhost');
  assert.ok(session[0].expires > Date.now() / 1000, 'a persistent cookie with an expiry');
  assert.match(session[0].value, /^[A-Za-z0-9_-]{40,}/);
  assert.equal(cookies.filter((c) => c.name === 'authgate_flow').length, 0, 'flow cookie cleared');

  // A second visit needs no sign-in: no redirect at all.
  const urlsAgain = [];
  page.on('request', (r) => { if (r.isNavigationRequest()) urlsAgain.push(r.url()); });
  const again = await page.goto(`${gate.host}/app/other`);
  assert.equal(again.status(), 200);
  assert.equal(again.request().redirectedFrom(), null, 'served without a redirect');
  assert.deepEqual(urlsAgain, [`${gate.host}/app/other`]);
  assert.equal((await again.json()).user, 'alice');
});

test('Chromium: with authgate_default_provider a protected page goes straight to the IdP', async () => {
  const { page, context } = await browser();
  const target = `${gate.host}/direct/report`;
  const urls = [];
  page.on('request', (r) => { if (r.isNavigationRequest()) urls.push(r.url()); });

  const first = await page.goto(target);
  assert.equal(first.status(), 200);
  assert.ok(page.url().startsWith(`${idp.server.issuer}/interaction/`), page.url());
  assert.equal(urls.filter((u) => u.includes('/_authgate/login')).length, 0,
    `no sign-in page in between: ${urls.join(' ')}`);
  assert.equal(urls.filter((u) => u.includes('/_authgate/sso/')).length, 0,
    `no hop through /sso/: ${urls.join(' ')}`);
  assert.ok(urls.some((u) => u.startsWith(`${idp.server.issuer}/auth?`)), urls.join(' '));

  const { res } = await signInAtIdp(page, target, 'bob');
  assert.equal(res.status(), 200);
  const echoed = await res.json();
  assert.equal(echoed.user, 'bob');
  assert.equal(echoed.groups, 'staff');
  assert.equal(echoed.uri, '/direct/report');
  const session = (await context.cookies(gate.host)).filter((c) => c.name === 'authgate_session');
  assert.equal(session.length, 1);

  // The same session opens the rest of the site, where the sign-in page is the default.
  const other = await page.goto(`${gate.host}/app/x`);
  assert.equal(other.status(), 200);
  assert.equal((await other.json()).user, 'bob');
});
