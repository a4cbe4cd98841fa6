// The OpenID Provider process that harness/idp.mjs forks: oidc-provider on 127.0.0.1, driven
// over the IPC channel (configuration, test account, injected errors, key rotation, sessions).
import http from 'node:http';
import { Provider, errors, interactionPolicy } from 'oidc-provider';

let cfg;          // from the parent's `init` message
let jwks;         // private signing keys, newest first
let provider;
let handler;      // provider.callback()
const control = { account: null, interaction: 'auto', failNext: null, faults: [] };
const events = [];

// ---- storage shared by every Provider instance this process builds (keys rotate by rebuilding)

const store = new Map();

function live(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return e.payload;
}

class Adapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(this.key(id), { payload, expiresAt });
  }
  async find(id) { return live(this.key(id)); }
  async findByUid(uid) {
    for (const [key, e] of store) {
      if (key.startsWith(`${this.model}:`) && e.payload.uid === uid) return live(key);
    }
    return undefined;
  }
  async findByUserCode() { return undefined; }
  async consume(id) {
    const p = live(this.key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const [key, e] of store) if (e.payload.grantId === grantId) store.delete(key);
  }
}

// ---- accounts

function accountByName(name) {
  const a = cfg.accounts[name];
  if (!a) throw new Error(`unknown test account ${name}`);
  return a;
}

function accountBySub(sub) {
  return Object.values(cfg.accounts).find((a) => a.sub === sub);
}

async function findAccount(_ctx, sub) {
  const a = accountBySub(sub);
  if (!a) return undefined;
  return {
    accountId: sub,
    async claims() {
      return {
        sub, email: a.email, email_verified: a.email_verified, name: a.name,
        preferred_username: a.preferred_username, groups: a.groups,
        ...(a.padding ? { padding: a.padding } : {}),
      };
    },
  };
}

// ---- pages (plain HTML, no external resources: the browser must never leave loopback)

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head>`
    + `<body><h1>${esc(title)}</h1>${body}</body></html>`;
}

function loginForm(uid, { error, username = '' } = {}) {
  return page('Sign in to the test IdP', `${error ? `<p id="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}">
<label>Username <input id="username" name="username" value="${esc(username)}" autocomplete="off" required></label>
<label>Password <input id="password" name="password" type="password" required></label>
<button id="submit" type="submit">Sign in</button>
</form>
<p><a id="cancel" href="/interaction/${esc(uid)}/abort">Cancel</a></p>`);
}

async function logoutSource(ctx, form) {
  // The provider's confirmation form (with its xsrf field), answered "yes" when submitted.
  const withYes = form.replace('</form>',
    '<input type="hidden" name="logout" value="yes"/><button id="logout" type="submit">Sign out</button></form>');
  ctx.type = 'html';
  ctx.body = page('Sign out of the test IdP?', withYes);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<p id="signed-out">You are signed out of the test IdP.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('IdP error', Object.entries(out).map(([k, v]) => `<p class="${esc(k)}">${esc(v)}</p>`).join(''));
}

// ---- the provider

function buildProvider() {
  const policy = interactionPolicy.base();
  // A prompt the harness can force, so an injected error also reaches signed-in sessions.
  policy.get('login').checks.add(new interactionPolicy.Check('harness_forced', 'the test asked for an interaction',
    () => (control.failNext ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT)), 0);

  const resources = cfg.resources;
  const p = new Provider(cfg.issuer, {
    adapter: Adapter,
    clients: cfg.clients,
    jwks: { keys: jwks },
    cookies: { keys: cfg.cookieKeys },
    findAccount,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'padding'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    responseTypes: ['code'],
    conformIdTokenClaims: !cfg.claimsInIdToken,
    pkce: { required: () => cfg.pkceRequired },
    ttl: cfg.ttl,
    rotateRefreshToken: () => cfg.rotateRefreshTokens,
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && (cfg.refreshWithoutOfflineAccess || code.scopes.has('offline_access')),
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          const r = resources[indicator];
          if (!r) throw new errors.InvalidTarget();
          return {
            scope: r.scope, audience: r.audience ?? indicator, accessTokenTTL: r.accessTokenTTL ?? cfg.ttl.AccessToken,
            accessTokenFormat: 'jwt', jwt: { sign: { alg: r.alg ?? 'RS256' } },
          };
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}`, policy },
    renderError,
    // oidc-provider refuses outgoing requests to loopback addresses (SSRF protection); the
    // back-channel logout receivers of these tests live exactly there.
    fetch: (url, options) => {
      delete options.dispatcher;
      return globalThis.fetch(url, options);
    },
  });
  // Records how each token request authenticated; with strictClientAuth (default) a
  // client using another method than its registered one gets invalid_client (oidc-provider
  // itself accepts client_secret_basic and client_secret_post interchangeably).
  p.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token' || !ctx.oidc.client) return;
    let auth = 'none';
    if (/^basic /i.test(ctx.get('authorization'))) auth = 'client_secret_basic';
    else if (ctx.oidc.body?.client_secret !== undefined) auth = 'client_secret_post';
    else if (ctx.oidc.body?.client_assertion !== undefined) auth = 'jwt';
    const registered = ctx.oidc.client.clientAuthMethod;
    const refused = cfg.strictClientAuth && ctx.status === 200 && auth !== registered;
    events.push({
      type: 'token', client_id: ctx.oidc.client.clientId, grant_type: ctx.oidc.body?.grant_type, auth,
      status: refused ? 401 : ctx.status,
    });
    if (refused) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_client', error_description: `client authentication must use ${registered}` };
    }
  });
  p.on('backchannel.success', (_ctx, client, sub, sid) =>
    events.push({ type: 'backchannel.success', client_id: client.clientId, sub, sid }));
  p.on('backchannel.error', (_ctx, err, client, sub, sid) =>
    events.push({ type: 'backchannel.error', client_id: client.clientId, sub, sid, error: err.message }));
  p.on('server_error', (_ctx, err) => {
    events.push({ type: 'server_error', error: err.message });
    process.stderr.write(`idp server_error: ${err.stack}\n`);
  });
  for (const name of ['grant.error', 'authorization.error', 'end_session.error']) {
    p.on(name, (_ctx, err) => events.push({ type: name, error: err.message, detail: err.error_description }));
  }
  provider = p;
  handler = p.callback();
}

// ---- interactions: auto-login (default) or a login form; consent is always automatic

function readForm(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { data += c; if (data.length > 65536) req.destroy(); });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(data))));
    req.on('error', reject);
  });
}

function sendHtml(res, status, html) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

async function consent(req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } },
    { mergeWithLastSubmission: true });
}

async function interaction(req, res) {
  const url = new URL(req.url, cfg.issuer);
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return sendHtml(res, 400, page('IdP error', '<p>interaction mismatch</p>'));
  const finish = (result, merge = false) => provider.interactionFinished(req, res, result, { mergeWithLastSubmission: merge });

  if (action === 'abort') {
    return finish({ error: 'access_denied', error_description: 'End-User cancelled the sign-in' });
  }
  if (control.failNext) {
    const result = control.failNext;
    control.failNext = null;
    events.push({ type: 'interaction.failed', error: result.error });
    return finish(result);
  }
  if (details.prompt.name === 'consent') return consent(req, res, details);

  if (control.interaction === 'auto') {
    return finish({ login: { accountId: accountByName(control.account).sub } });
  }
  if (req.method === 'GET') return sendHtml(res, 200, loginForm(uid));
  if (req.method !== 'POST') return sendHtml(res, 405, page('IdP error', '<p>method not allowed</p>'));
  const form = await readForm(req);
  const account = cfg.accounts[form.username];
  if (!account || account.password !== form.password || account.disabled) {
    events.push({ type: 'login.failed', username: form.username });
    return sendHtml(res, 401, loginForm(uid, { error: 'Invalid username or password', username: form.username }));
  }
  return finish({ login: { accountId: account.sub } });
}

// ---- fault injection: matching requests get a fixed answer, a delay, or a dropped connection

async function applyFault(req, res) {
  const path = new URL(req.url, cfg.issuer).pathname;
  const i = control.faults.findIndex((f) => path === f.path || (f.path.endsWith('*') && path.startsWith(f.path.slice(0, -1))));
  if (i < 0) return false;
  const f = control.faults[i];
  if (f.times !== undefined && --f.times <= 0) control.faults.splice(i, 1);
  events.push({ type: 'fault', path });
  if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
  if (f.drop) {
    req.socket.destroy();
    return true;
  }
  if (f.status === undefined) return false;  // delay only
  res.writeHead(f.status, { 'Content-Type': f.contentType ?? 'application/json' });
  res.end(f.body ?? '');
  return true;
}

// ---- sessions: listed and ended from the harness (back-channel logout to each client)

function sessions() {
  const out = [];
  for (const key of store.keys()) {
    if (!key.startsWith('Session:')) continue;
    const s = live(key);
    if (!s || !s.accountId) continue;
    out.push({
      id: key.slice('Session:'.length), sub: s.accountId,
      clients: Object.fromEntries(Object.entries(s.authorizations ?? {}).map(([c, a]) => [c, { sid: a.sid, grantId: a.grantId }])),
    });
  }
  return out;
}

async function endSessions({ sub, id } = {}) {
  const deliveries = [];
  for (const s of sessions()) {
    if ((sub && s.sub !== sub) || (id && s.id !== id)) continue;
    for (const [clientId, { sid, grantId }] of Object.entries(s.clients)) {
      const client = await provider.Client.find(clientId);
      if (client?.backchannelLogoutUri) {
        try {
          await client.backchannelLogout(s.sub, sid);
          deliveries.push({ client_id: clientId, sub: s.sub, sid, ok: true });
          events.push({ type: 'backchannel.success', client_id: clientId, sub: s.sub, sid });
        } catch (err) {
          deliveries.push({ client_id: clientId, sub: s.sub, sid, ok: false, error: err.message });
          events.push({ type: 'backchannel.error', client_id: clientId, sub: s.sub, sid, error: err.message });
        }
      }
      if (grantId) await new Adapter('Grant').revokeByGrantId(grantId);
    }
    store.delete(`Session:${s.id}`);
  }
  return deliveries;
}

// ---- control over IPC: { id, op, args } -> { id, ok, value | error }

const ops = {
  loginAs({ account }) { accountByName(account); control.account = account; },
  setInteraction({ mode }) {
    if (!['auto', 'form'].includes(mode)) throw new Error(`interaction mode ${mode}`);
    control.interaction = mode;
  },
  failNextAuthorization({ error, error_description }) { control.failNext = { error, error_description }; },
  setKeys({ keys }) { jwks = keys; buildProvider(); },
  addClient({ client }) { cfg.clients.push(client); buildProvider(); },
  addFault(fault) { control.faults.push(fault); },
  clearFaults() { control.faults = []; },
  sessions,
  endSessions,
  events({ clear }) {
    const out = [...events];
    if (clear) events.length = 0;
    return out;
  },
};

process.on('message', async (msg) => {
  if (msg.op === 'init') return init(msg.args);
  try {
    const value = await ops[msg.op](msg.args ?? {});
    process.send({ id: msg.id, ok: true, value });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: err.message });
  }
});
process.on('disconnect', () => process.exit(0));  // the test process went away

function init(args) {
  cfg = args;
  jwks = args.keys;
  control.account = args.account;
  control.interaction = args.interaction;
  buildProvider();
  const server = http.createServer(async (req, res) => {
    try {
      if (control.faults.length && await applyFault(req, res)) return;
      if (req.url.startsWith('/interaction/')) return await interaction(req, res);
      return handler(req, res);
    } catch (err) {
      events.push({ type: 'harness_error', error: err.message });
      process.stderr.write(`idp harness error: ${err.stack}\n`);
      if (!res.headersSent) sendHtml(res, 500, page('IdP error', `<p>${esc(err.message)}</p>`));
      else res.end();
    }
  });
  server.keepAliveTimeout = 1000;
  server.listen(cfg.port, '127.0.0.1', () => process.send({ ready: true }));
  server.on('error', (err) => process.send({ ready: false, error: err.message }));
}
