// A headless SAML 2.0 identity provider for the SSO tests, built on samlify (an implementation independent of
// pysaml2). Plain node http on 127.0.0.1; prints "READY <base>" when listening.
//
// Environment: PORT (0 = any free port), IDP_KEY and IDP_CERT (PEM files: its signing key pair).
// Endpoints:
//   GET  /metadata   the IdP metadata (SSO and SLO by HTTP-Redirect, AuthnRequests must be signed)
//   GET  /sso        an SP-initiated HTTP-Redirect AuthnRequest; its signature is checked. Answers with the
//                    auto-submitting HTML form that POSTs SAMLResponse + RelayState to the SP's ACS.
//   GET  /slo        an SP's HTTP-Redirect LogoutRequest (signature checked): 302 to the SP's SLS with a
//                    LogoutResponse; or an SP's LogoutResponse to a request of ours: 200 "logged out".
//   POST /_sp        body = the SP metadata XML: the one SP this IdP answers (tests register theirs).
//   POST /_mode      JSON switches for the next responses (bad-input tests), reset by POST /_mode {}:
//                    audience, destination (strings), expired, unsigned, tampered, encrypt (booleans),
//                    status (a StatusCode URN), user ({email, groups, nameIdFormat}).
//   POST /_logout    JSON {name_id, session_index}: an IdP-initiated LogoutRequest to the SP; answers {url}.
//   GET  /_last      JSON: what the last LogoutRequest / LogoutResponse received said.
// The xmllint schema validator is replaced by a no-op: it takes ~15 s to start, and it would only validate
// Nimbus's requests, which pysaml2 builds from its own schema classes.
'use strict';

const http = require('http');
const fs = require('fs');
const crypto = require('crypto');
const saml = require('samlify');

saml.setSchemaValidator({ validate: async () => 'skipped' });

const port = Number(process.env.PORT || 0);
const key = fs.readFileSync(process.env.IDP_KEY, 'utf8');
const cert = fs.readFileSync(process.env.IDP_CERT, 'utf8');
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

let base = '';
let spMetadata = null;
let mode = {};
const last = { logoutRequest: null, logoutResponse: null };

function idp(encrypt) {
  return saml.IdentityProvider({
    entityID: `${base}/metadata`,
    privateKey: key,
    signingCert: cert,
    wantAuthnRequestsSigned: true,
    wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    nameIDFormat: [EMAIL_FORMAT],
    singleSignOnService: [{ Binding: REDIRECT, Location: `${base}/sso` }],
    singleLogoutService: [{ Binding: REDIRECT, Location: `${base}/slo` }],
    isAssertionEncrypted: Boolean(encrypt),
    dataEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
    keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
  });
}

function sp() {
  return saml.ServiceProvider({
    metadata: spMetadata,
    wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true,
  });
}

const escape = (s) =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function attribute(name, values) {
  const items = values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${escape(v)}</saml:AttributeValue>`);
  return `<saml:Attribute Name="${escape(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${items.join('')}</saml:Attribute>`;
}

// The whole Response, written here rather than through samlify's tag replacement: that one escapes every value
// (so an AuthnStatement cannot be a tag) and is single-valued per attribute (groups are not).
function loginResponseXml({ requestId, acs, audience }) {
  const now = new Date();
  const skew = mode.expired ? -3600e3 : 0;
  const at = (ms) => new Date(now.getTime() + skew + ms).toISOString();
  const user = mode.user || {};
  const email = user.email || 'alice@example.test';
  const groups = user.groups || ['nimbus-admins', 'dev'];
  const destination = mode.destination || acs;
  const assertionId = `_${crypto.randomUUID()}`;
  const sessionIndex = `_session_${crypto.randomUUID()}`;
  const status = mode.status || SUCCESS;
  const assertion =
    status !== SUCCESS
      ? ''
      : `<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${assertionId}" Version="2.0" IssueInstant="${at(0)}">` +
        `<saml:Issuer>${escape(base + '/metadata')}</saml:Issuer>` +
        `<saml:Subject><saml:NameID Format="${escape(user.nameIdFormat || EMAIL_FORMAT)}">${escape(email)}</saml:NameID>` +
        `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${at(300e3)}" Recipient="${escape(destination)}" InResponseTo="${escape(requestId)}"/></saml:SubjectConfirmation></saml:Subject>` +
        `<saml:Conditions NotBefore="${at(-5e3)}" NotOnOrAfter="${at(300e3)}"><saml:AudienceRestriction><saml:Audience>${escape(mode.audience || audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
        `<saml:AuthnStatement AuthnInstant="${at(0)}" SessionIndex="${sessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
        `<saml:AttributeStatement>${attribute('email', [email])}${attribute('groups', groups)}</saml:AttributeStatement>` +
        `</saml:Assertion>`;
  return {
    id: `_${crypto.randomUUID()}`,
    xml:
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="${at(0)}" Destination="${escape(destination)}" InResponseTo="${escape(requestId)}">` +
      `<saml:Issuer>${escape(base + '/metadata')}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${escape(status)}"/></samlp:Status>` +
      assertion +
      `</samlp:Response>`,
  };
}

function mangled(base64, change) {
  return Buffer.from(change(Buffer.from(base64, 'base64').toString('utf8')), 'utf8').toString('base64');
}

function octetString(rawQuery, names) {
  // The signed string is the parameters exactly as they were encoded in the URL, in the binding's order.
  const pairs = Object.fromEntries(rawQuery.split('&').map((p) => [p.split('=')[0], p]));
  return names.filter((n) => pairs[n]).map((n) => pairs[n]).join('&');
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(body);
}

async function sso(req, res, url, rawQuery) {
  const query = Object.fromEntries(url.searchParams);
  const provider = idp(mode.encrypt);
  const serviceProvider = sp();
  const parsed = await provider.parseLoginRequest(serviceProvider, 'redirect', {
    query,
    octetString: octetString(rawQuery, ['SAMLRequest', 'RelayState', 'SigAlg']),
  });
  const requestId = parsed.extract.request.id;
  const acs = serviceProvider.entityMeta.getAssertionConsumerService('post');
  const audience = serviceProvider.entityMeta.getEntityID();
  const built = loginResponseXml({ requestId, acs, audience });
  // An error status carries no assertion, so there is nothing to sign: samlify would insist on signing one.
  const answer = mode.status && mode.status !== SUCCESS
    ? { context: Buffer.from(built.xml.replace('{ID}', built.id), 'utf8').toString('base64') }
    : await provider.createLoginResponse(serviceProvider, parsed, 'post', {}, {
    customTagReplacement: () => ({ id: built.id, context: built.xml.replace('{ID}', built.id) }),
    relayState: query.RelayState,
  });
  let response = answer.context;
  if (mode.unsigned) {
    response = mangled(response, (xml) => xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, ''));
  }
  if (mode.tampered) {
    response = mangled(response, (xml) => xml.replace(/(<saml:NameID[^>]*>)[^<]*/, '$1mallory@example.test'));
  }
  const form =
    `<!doctype html><html><body onload="document.forms[0].submit()">` +
    `<form method="post" action="${escape(acs)}">` +
    `<input type="hidden" name="SAMLResponse" value="${escape(response)}">` +
    `<input type="hidden" name="RelayState" value="${escape(query.RelayState || '')}">` +
    `<noscript><button type="submit">Continue</button></noscript></form></body></html>`;
  send(res, 200, 'text/html; charset=utf-8', form);
}

async function slo(req, res, url, rawQuery) {
  const query = Object.fromEntries(url.searchParams);
  const provider = idp(false);
  const serviceProvider = sp();
  if (query.SAMLRequest) {
    const parsed = await provider.parseLogoutRequest(serviceProvider, 'redirect', {
      query,
      octetString: octetString(rawQuery, ['SAMLRequest', 'RelayState', 'SigAlg']),
    });
    last.logoutRequest = parsed.extract;
    const answer = provider.createLogoutResponse(serviceProvider, parsed, 'redirect', {
      relayState: query.RelayState || '',
    });
    send(res, 302, 'text/plain', 'to the SP', { Location: answer.context });
    return;
  }
  const parsed = await provider.parseLogoutResponse(serviceProvider, 'redirect', {
    query,
    octetString: octetString(rawQuery, ['SAMLResponse', 'RelayState', 'SigAlg']),
  });
  last.logoutResponse = parsed.extract;
  send(res, 200, 'text/plain', 'logged out');
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, base);
  const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
  try {
    if (req.method === 'GET' && url.pathname === '/metadata') {
      return send(res, 200, 'application/samlmetadata+xml', idp(false).getMetadata());
    }
    if (req.method === 'POST' && url.pathname === '/_sp') {
      spMetadata = await readBody(req);
      return send(res, 204, 'text/plain', '');
    }
    if (req.method === 'POST' && url.pathname === '/_mode') {
      mode = JSON.parse((await readBody(req)) || '{}');
      return send(res, 204, 'text/plain', '');
    }
    if (req.method === 'GET' && url.pathname === '/_last') {
      return send(res, 200, 'application/json', JSON.stringify(last));
    }
    if (req.method === 'POST' && url.pathname === '/_logout') {
      const body = JSON.parse(await readBody(req));
      const answer = idp(false).createLogoutRequest(sp(), 'redirect', {
        logoutNameID: body.name_id,
        sessionIndex: body.session_index,
      }, { relayState: body.relay_state || '' });
      return send(res, 200, 'application/json', JSON.stringify({ id: answer.id, url: answer.context }));
    }
    if (req.method === 'GET' && url.pathname === '/sso') return await sso(req, res, url, rawQuery);
    if (req.method === 'GET' && url.pathname === '/slo') return await slo(req, res, url, rawQuery);
    return send(res, 404, 'text/plain', 'not found');
  } catch (error) {
    // A request the IdP refuses (bad signature, unknown SP): say why, as a real IdP's error page would.
    return send(res, 400, 'text/plain', `refused: ${error && error.message ? error.message : error}`);
  }
});

server.listen(port, '127.0.0.1', () => {
  base = `http://127.0.0.1:${server.address().port}`;
  console.log(`READY ${base}`);
});
