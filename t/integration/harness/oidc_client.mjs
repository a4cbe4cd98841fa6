// Node code acting as an OpenID relying party against the test IdP: PKCE authorization
// requests, token requests (client_secret_basic / client_secret_post), ID token verification.
import crypto from 'node:crypto';
import * as jose from 'jose';
import { form } from './http.mjs';

const rand = () => crypto.randomBytes(32).toString('base64url');

export function pkcePair() {
  const verifier = rand();
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

// An authorization request URL; returns { url, state, nonce, verifier, redirect_uri }.
// `extra` adds parameters (null removes a default one, e.g. { code_challenge: null }).
export function authorizationRequest(idp, client, {
  redirect_uri = client.redirect_uris[0], scope = 'openid email profile groups', prompt, resource, extra = {},
} = {}) {
  const { verifier, challenge } = pkcePair();
  const state = rand();
  const nonce = rand();
  const params = {
    client_id: client.client_id, response_type: 'code', redirect_uri, scope, state, nonce,
    code_challenge: challenge, code_challenge_method: 'S256',
    ...(prompt ? { prompt } : {}), ...(resource ? { resource } : {}), ...extra,
  };
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null));
  return { url: `${idp.issuer}/auth?${q}`, state, nonce, verifier, redirect_uri };
}

// The query parameters of a redirect back to the client (code, state, iss or error...).
export function callbackParams(location) {
  return Object.fromEntries(new URL(location).searchParams);
}

// POST to the token endpoint, authenticating as `client` its registered way (or `auth`).
// Resolves { status, body } with the parsed JSON body.
export async function tokenRequest(idp, client, params, { auth = client.token_endpoint_auth_method } = {}) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const fields = { ...params };
  if (auth === 'client_secret_basic') {
    const enc = (s) => encodeURIComponent(s);
    headers.Authorization = `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64')}`;
  } else if (auth === 'client_secret_post') {
    Object.assign(fields, { client_id: client.client_id, client_secret: client.client_secret });
  } else if (auth === 'none') {
    fields.client_id = client.client_id;
  }
  const res = await fetch(`${idp.issuer}/token`, { method: 'POST', headers, body: form(fields) });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}

export function exchangeCode(idp, client, { code, verifier, redirect_uri = client.redirect_uris[0], resource }, opts) {
  return tokenRequest(idp, client, {
    grant_type: 'authorization_code', code, redirect_uri, code_verifier: verifier, ...(resource ? { resource } : {}),
  }, opts);
}

export function refreshGrant(idp, client, refresh_token, { scope, resource } = {}, opts) {
  return tokenRequest(idp, client, {
    grant_type: 'refresh_token', refresh_token, ...(scope ? { scope } : {}), ...(resource ? { resource } : {}),
  }, opts);
}

// A JWT access token for an API (`resource`, e.g. testApi) without a user: the client
// credentials grant (the client needs grant_types including 'client_credentials').
export function clientCredentials(idp, client, { scope, resource }, opts) {
  return tokenRequest(idp, client, { grant_type: 'client_credentials', scope, resource }, opts);
}

// Verifies a JWT against the IdP's JWKS as published now; checks iss, aud, exp and nonce.
export async function verifyJwt(idp, token, { audience, nonce, algorithms } = {}) {
  const jwks = await (await fetch(`${idp.issuer}/jwks`)).json();
  const { payload, protectedHeader } = await jose.jwtVerify(token, jose.createLocalJWKSet(jwks),
    { issuer: idp.issuer, audience, algorithms });
  if (nonce !== undefined && payload.nonce !== nonce) throw new Error(`nonce mismatch: ${payload.nonce}`);
  return { payload, header: protectedHeader };
}

// The whole front channel with a scripted agent: authorization request, IdP sign-in
// (auto-login), back to redirect_uri (not fetched). Resolves the request fields plus
// { hops, params } where params are the callback's query parameters.
export async function authorize(idp, client, agent, options = {}) {
  const req = authorizationRequest(idp, client, options);
  const { hops, location } = await agent.follow(req.url, { stopAt: req.redirect_uri });
  if (!location) {
    const last = hops[hops.length - 1];
    throw new Error(`authorization did not return to ${req.redirect_uri}: ${last.status} ${last.url}\n${last.body.slice(0, 500)}`);
  }
  return { ...req, hops, params: callbackParams(location) };
}
