// Regression (issue 8, item 12): redirect_uri, post_logout_redirect_uri and the IdP-initiated
// target_link_uri check used the client's Host header; they come from authgate_public_origin
// (or the provider's redirect_uri=) and a forged Host or X-Forwarded-Host changes nothing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp } from './harness/idp.mjs';
import { form } from './harness/http.mjs';

const idp = {};
after(async () => {
  if (idp.server) await idp.server.stop();
});

const secret = 'origin-client-secret-0123456789abcdef';
const fixed = 'https://sso.example.net/cb/fixed';
const gate = gatedServer({
  prepare: async () => { idp.server = await startIdp(); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`),
  http: ({ prefix }) => `
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret rp_logout=on;
    authgate_oidc_provider fixed issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret redirect_uri=${fixed};`,
  started: (g) => idp.server.addClient(idpClient({
    client_id: 'gate', client_secret: secret,
    redirect_uris: [`${g.base}/_authgate/callback/corp`, fixed],
    post_logout_redirect_uris: [`${g.base}/_authgate/logout`],
  })),
});

const forgeries = [{ Host: 'evil.example' }, { 'X-Forwarded-Host': 'evil.example' },
  { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' }];

test('redirect_uri comes from the configuration, whatever Host and X-Forwarded-Host say', async () => {
  for (const headers of forgeries) {
    const res = await new Agent().fetch(`${gate.base}/_authgate/sso/corp?rd=/app`, { headers });
    assert.equal(res.status, 302, JSON.stringify(headers));
    const auth = new URL(res.headers.location);
    assert.equal(auth.searchParams.get('redirect_uri'), `${gate.base}/_authgate/callback/corp`, JSON.stringify(headers));
    const own = await new Agent().fetch(`${gate.base}/_authgate/sso/fixed?rd=/app`, { headers });
    assert.equal(new URL(own.headers.location).searchParams.get('redirect_uri'), fixed);
  }
});

test('post_logout_redirect_uri comes from the configuration', async () => {
  for (const headers of forgeries) {
    const agent = new Agent();
    const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/app`);
    assert.equal(done.last.status, 200);
    let res = await agent.fetch(`${gate.base}/_authgate/logout`, { headers });
    if (res.status === 200) {  // a confirmation page: post its form
      const csrf = res.body.match(/name="csrf" value="([^"]+)"/)?.[1] ?? '';
      res = await agent.fetch(`${gate.base}/_authgate/logout`, {
        method: 'POST', body: form({ csrf }),
        headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      });
    }
    assert.equal(res.status, 303, JSON.stringify(headers));
    const end = new URL(res.headers.location);
    assert.equal(end.origin, idp.server.issuer);
    assert.equal(end.searchParams.get('post_logout_redirect_uri'), `${gate.base}/_authgate/logout`, JSON.stringify(headers));
  }
});

test('an IdP-initiated target_link_uri on the forged host is refused', async () => {
  const iss = encodeURIComponent(idp.server.issuer);
  const target = encodeURIComponent('http://evil.example/app');
  const res = await new Agent().fetch(`${gate.base}/_authgate/sso/corp?iss=${iss}&target_link_uri=${target}`,
    { headers: { Host: 'evil.example' } });
  assert.equal(res.status, 400);
  const ok = await new Agent().fetch(`${gate.base}/_authgate/sso/corp?iss=${iss}&target_link_uri=${encodeURIComponent(`${gate.base}/app`)}`,
    { headers: { Host: 'evil.example' } });
  assert.equal(ok.status, 302);
});
