// SSO roles: a provider's role_map= turns IdP groups into roles at sign-in; role: and
// permission: terms then decide with the server's authgate_role lines (403 without them).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gatedServer } from './harness/gate.mjs';
import { Agent } from './harness/agent.mjs';
import { idpClient, startIdp } from './harness/idp.mjs';
import { testServer } from './harness/env.mjs';

const idp = {};
after(async () => {
  if (idp.server) await idp.server.stop();
});

const secret = 'corp-client-secret-0123456789abcdef';
const gate = gatedServer({
  nginxOnly: true,
  prepare: async () => { idp.server = await startIdp(); },
  setup: (prefix) => fs.writeFileSync(`${prefix}/corp.secret`, `${secret}\n`),
  http: ({ prefix }) => `
    authgate_role reader permissions=docs:read;
    authgate_role operator permissions=users:manage inherits=reader;
    authgate_oidc_provider corp issuer=${idp.server.issuer} client_id=gate
        client_secret_file=${prefix}/corp.secret scopes=openid,email,profile,groups
        role_map=admins:operator,staff:reader,nobody-has-this:operator;`,
  locations: (b) => `
        location /manage/ { authgate on; authgate_require permission:users:manage; proxy_pass http://127.0.0.1:${b}; }
        location /docs/   { authgate on; authgate_require permission:docs:read; proxy_pass http://127.0.0.1:${b}; }`,
  started: (g) => idp.server.addClient(idpClient({
    client_id: 'gate', client_secret: secret, redirect_uris: [`${g.base}/_authgate/callback/corp`],
  })),
});

async function signInAs(name) {
  idp.server.loginAs(name);
  const agent = new Agent();
  const done = await agent.follow(`${gate.base}/_authgate/sso/corp?rd=/docs/x`);
  return { agent, done };
}

test('an IdP group maps to a role: admins give operator, staff give reader', { skip: testServer === 'apache' && 'nginx config' }, async () => {
  const alice = await signInAs('alice'); // admins, staff
  assert.equal(alice.done.last.status, 200);
  assert.equal(JSON.parse(alice.done.last.body).roles, 'operator,reader');
  const manage = await alice.agent.fetch(`${gate.base}/manage/x`);
  assert.equal(manage.status, 200);

  const bob = await signInAs('bob'); // staff only
  assert.equal(bob.done.last.status, 200, 'reader holds docs:read');
  assert.equal(JSON.parse(bob.done.last.body).roles, 'reader');
  const denied = await bob.agent.fetch(`${gate.base}/manage/x`);
  assert.equal(denied.status, 403, 'a signed-in user without the permission gets 403');

  const carol = await signInAs('carol'); // no groups: no roles
  assert.equal(carol.done.last.status, 403);
});
