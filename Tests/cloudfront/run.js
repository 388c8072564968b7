#!/usr/bin/env node
// Runs deploy/template.yaml's CloudFront Function (NegotiateFormatFunction) on the shared table of Accept
// headers (Tests/Fixtures/accept-headers.json) and a set of URIs, for several NegotiatedPresets values, and
// checks each rewritten URI against one computed here from the table's avif/webp columns and the candidates,
// independently of the function's code. Also checks the code's size, the parameter's AllowedPattern and where
// the function and the Vary policy are attached. No npm packages: node's own fs, path and vm.
// Prints one line per mismatch and exits 1 on any; exit 0 and a summary otherwise.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");

const root = path.resolve(__dirname, "..", "..");
const templatePath = path.join(root, "deploy", "template.yaml");
const tablePath = path.join(root, "Tests", "Fixtures", "accept-headers.json");
const template = fs.readFileSync(templatePath, "utf8");
const lines = template.split("\n");
const failures = [];
let checks = 0;

function check(ok, message) {
  checks++;
  if (!ok) failures.push(message);
}

// ---- Just enough YAML: blocks found by indentation. ----

const indentOf = (line) => line.length - line.trimStart().length;

// The lines under the first `key:` line at `indent` after line `from`, up to the next line indented as
// little (blank lines kept). Returns [start, end) line indices of the body.
function blockAfter(key, indent, from = 0, to = lines.length) {
  for (let i = from; i < to; i++) {
    const line = lines[i];
    if (indentOf(line) === indent && line.trimStart().startsWith(key + ":")) {
      let end = i + 1;
      while (end < to && (lines[end].trim() === "" || indentOf(lines[end]) > indent)) end++;
      return [i + 1, end, i];
    }
  }
  throw new Error(`${path.relative(root, templatePath)}: no "${key}:" at indent ${indent}`);
}

const [parametersStart, parametersEnd] = blockAfter("Parameters", 0);
const [resourcesStart, resourcesEnd] = blockAfter("Resources", 0);

// A parameter's scalar property (Default, AllowedPattern), with YAML's quotes undone.
function parameterProperty(name, property) {
  const [start, end] = blockAfter(name, 2, parametersStart, parametersEnd);
  for (let i = start; i < end; i++) {
    const match = /^ {4}(\w+):\s*(.*)$/.exec(lines[i]);
    if (match && match[1] === property) return unquote(match[2]);
  }
  return undefined;
}

function unquote(text) {
  text = text.trim();
  if (text.startsWith('"')) return JSON.parse(text); // the template's double-quoted scalars are JSON-compatible
  if (text.startsWith("'")) return text.slice(1, -1).replace(/''/g, "'");
  return text;
}

// The function's code: the literal block (`FunctionCode: !Sub |`), its indentation removed, as YAML does.
function functionCode() {
  const [start, end] = blockAfter("NegotiateFormatFunction", 2, resourcesStart, resourcesEnd);
  const [, , at] = blockAfter("Properties", 4, start, end);
  const [codeStart, codeEnd, keyLine] = blockAfter("FunctionCode", 6, at, end);
  if (!/^\s*FunctionCode:\s*!Sub\s*\|\s*$/.test(lines[keyLine])) {
    throw new Error(`FunctionCode is not a "!Sub |" literal block: ${lines[keyLine].trim()}`);
  }
  const body = lines.slice(codeStart, codeEnd);
  while (body.length && body[body.length - 1].trim() === "") body.pop(); // `|` clips to one final newline
  const indent = Math.min(...body.filter((l) => l.trim() !== "").map(indentOf));
  return body.map((l) => l.slice(indent)).join("\n") + "\n";
}

// CloudFormation's !Sub with a string: ${!X} is the literal ${X}; ${Param} and ${AWS::...} are substituted;
// anything else (a resource's ${Name} or ${Name.Attr}) does not resolve here.
function substitute(code, parameters) {
  return code.replace(/\$\{([^}]*)\}/g, (all, name) => {
    if (name.startsWith("!")) return "${" + name.slice(1) + "}";
    if (Object.prototype.hasOwnProperty.call(parameters, name)) return parameters[name];
    const pseudo = { "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "rendition",
      "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com" };
    if (pseudo[name]) return pseudo[name];
    throw new Error(`!Sub in FunctionCode names ${all}, which the test cannot resolve (and should not be there)`);
  });
}

// The function as CloudFront Functions runs it: strict mode, no require, no timers, no process; `handler`.
function load(code) {
  const sandbox = Object.create(null);
  sandbox.console = { log() {} };
  const context = vm.createContext(sandbox, { codeGeneration: { strings: false, wasm: false } });
  vm.runInContext('"use strict";\n' + code + "\n;globalThis.__handler = handler;", context, { timeout: 1000 });
  return context.__handler;
}

// ---- The expectation, computed from the table, not from the function. ----

// `card=avif,webp,jpeg;hero=webp,jpeg` → { card: [...], hero: [...] }.
function presetMap(value) {
  const map = new Map();
  for (const pair of value.split(";").filter(Boolean)) {
    const [name, list] = pair.split("=");
    map.set(name, list.split(","));
  }
  return map;
}

function expectedFormat(candidates, row) {
  for (const format of candidates.slice(0, -1)) {
    if ((format === "avif" && row.avif) || (format === "webp" && row.webp)) return format;
  }
  return candidates[candidates.length - 1];
}

// `preset` is the negotiating preset the URI names, if it parses as a public URL; `{f}` marks the format.
const uris = [
  { uri: "/card/photo.jpg", preset: "card", rewritten: "/card@{f}/photo.jpg" },
  { uri: "/card@400w/a/b%20c.jpg", preset: "card", rewritten: "/card@400w@{f}/a/b%20c.jpg" },
  { uri: "/card@2x/x.jpg", preset: "card", rewritten: "/card@2x@{f}/x.jpg" },
  { uri: "/card@1200w/x.jpg", preset: "card", rewritten: "/card@1200w@{f}/x.jpg" },
  { uri: "/card@333w/x.jpg", preset: "card", rewritten: "/card@333w@{f}/x.jpg" }, // undeclared: the render route's 404
  { uri: "/card//a//b.jpg", preset: "card", rewritten: "/card@{f}//a//b.jpg" },
  { uri: "/hero/x.jpg", preset: "hero", rewritten: "/hero@{f}/x.jpg" },
  { uri: "/hero@800w/x.jpg", preset: "hero", rewritten: "/hero@800w@{f}/x.jpg" },
  { uri: "/x.y_z-1/k.png", preset: "x.y_z-1", rewritten: "/x.y_z-1@{f}/k.png" },
  // Left as they are: a format token already, a fixed-format preset, the render route, no key, no preset.
  { uri: "/card@avif/photo.jpg" },
  { uri: "/card@jpeg/photo.jpg" },
  { uri: "/card@400w@webp/a/b.jpg" },
  { uri: "/card@2x@png/x.jpg" },
  { uri: "/thumbnail/photo.jpg" },
  { uri: "/thumbnail@avif/photo.jpg" },
  { uri: "/_render/card/x.jpg" },
  { uri: "/_render/card@avif/x.jpg" },
  { uri: "/" },
  { uri: "/card" },
  { uri: "/card/" },
  { uri: "/card@400w" },
  { uri: "/Card/photo.jpg" },
  { uri: "/card@0w/x.jpg" },
  { uri: "/card@2.5x/x.jpg" },
  { uri: "/card@x/x.jpg" },
  { uri: "/card@400h/x.jpg" },
  { uri: "/card@100000w/x.jpg" },
  { uri: "/card%40400w/x.jpg" },
  { uri: "/constructor/x.jpg" },
  { uri: "/hasownproperty/x.jpg" },
  { uri: "/tostring/x.jpg" },
];

function expectedUri(entry, presets, row) {
  if (!entry.preset || !presets.has(entry.preset)) return entry.uri;
  return entry.rewritten.replace("{f}", expectedFormat(presets.get(entry.preset), row));
}

function event(uri, accept) {
  const headers = { host: { value: "d111111abcdef8.cloudfront.net" } };
  if (accept !== null) headers.accept = { value: accept };
  return {
    version: "1.0",
    context: { eventType: "viewer-request", distributionDomainName: "d111111abcdef8.cloudfront.net" },
    viewer: { ip: "198.51.100.11" },
    request: { method: "GET", uri, querystring: {}, headers, cookies: {} },
  };
}

const shown = (text) => (text === null ? "null" : JSON.stringify(text.length > 80 ? text.slice(0, 77) + "..." : text));

// ---- Run. ----

const table = JSON.parse(fs.readFileSync(tablePath, "utf8"));
check(Array.isArray(table) && table.length > 0, "accept-headers.json is not a non-empty array");
for (const row of table) {
  const ok = typeof row.client === "string" && (row.accept === null || typeof row.accept === "string") &&
    typeof row.avif === "boolean" && typeof row.webp === "boolean" && Object.keys(row).length === 4;
  check(ok, `accept-headers.json: malformed row ${JSON.stringify(row).slice(0, 120)}`);
}

const defaultPresets = parameterProperty("NegotiatedPresets", "Default");
const allowed = new RegExp(parameterProperty("NegotiatedPresets", "AllowedPattern"));
const values = [defaultPresets, "hero=webp,jpeg;card=avif,webp,jpeg", "card=webp,avif,png;hero=jpeg;x.y_z-1=avif,jpeg", ""];
check(defaultPresets === "card=avif,webp,jpeg", `NegotiatedPresets' Default is ${shown(defaultPresets)}, not card=avif,webp,jpeg`);

// The pattern CloudFormation enforces keeps the code's one substitution a plain, well-formed list.
for (const value of values) check(allowed.test(value), `AllowedPattern refuses ${shown(value)}`);
for (const bad of ["card=avif", "card=jpeg,avif", "card=avif,avif,jpeg", "card=png,jpeg", "Card=jpeg", "card=avif,webp,jpeg;",
  ";card=jpeg", "card=gif", "card=jpeg';x='", "card=jpeg\\", "card", "=jpeg", "_render=jpeg", "card@2x=jpeg"]) {
  check(!allowed.test(bad), `AllowedPattern accepts ${shown(bad)}`);
}

let rawCode;
try {
  rawCode = functionCode();
  substitute(rawCode, { NegotiatedPresets: defaultPresets });
} catch (error) {
  console.log("FAIL " + error.message);
  process.exit(1);
}
for (const value of values) {
  const code = substitute(rawCode, { NegotiatedPresets: value });
  const bytes = Buffer.byteLength(code, "utf8");
  check(bytes <= 10240, `with NegotiatedPresets=${shown(value)} the function is ${bytes} bytes, over CloudFront's 10 KB`);
  const handler = load(code);
  const presets = presetMap(value);
  for (const row of table) {
    for (const entry of uris) {
      const expected = expectedUri(entry, presets, row);
      let actual;
      try {
        const request = handler(event(entry.uri, row.accept));
        actual = request && request.uri;
        check(request && request.method === "GET" && request.headers && request.headers.host,
          `NegotiatedPresets=${shown(value)} ${entry.uri}: the handler does not return the request`);
      } catch (error) {
        actual = `threw ${error && error.message}`;
      }
      check(actual === expected, `NegotiatedPresets=${shown(value)} client ${shown(row.client)} Accept ${shown(row.accept)}:\n` +
        `    ${entry.uri} -> ${actual}, expected ${expected}`);
    }
  }
}

// Where it is attached: the default behaviour has the function (viewer request) and the Vary policy; the
// render route has neither.
{
  const [start, end] = blockAfter("Distribution", 2, resourcesStart, resourcesEnd);
  const text = (range) => lines.slice(range[0], range[1]).join("\n");
  const defaultBehaviour = text(blockAfter("DefaultCacheBehavior", 8, start, end));
  const otherBehaviours = text(blockAfter("CacheBehaviors", 8, start, end));
  check(/EventType: viewer-request\s*\n\s*FunctionARN: !GetAtt NegotiateFormatFunction\./.test(defaultBehaviour),
    "DefaultCacheBehavior has no viewer-request association with NegotiateFormatFunction");
  check(/ResponseHeadersPolicyId: !Ref VaryAcceptPolicy/.test(defaultBehaviour), "DefaultCacheBehavior lacks VaryAcceptPolicy");
  check(!/FunctionAssociations|NegotiateFormatFunction/.test(otherBehaviours), "a CacheBehaviors entry (/_render/*) runs the function");
  const fn = text(blockAfter("NegotiateFormatFunction", 2, resourcesStart, resourcesEnd));
  check(/Runtime: cloudfront-js-2\.0/.test(fn), "NegotiateFormatFunction's runtime is not cloudfront-js-2.0");
  const policy = text(blockAfter("VaryAcceptPolicy", 2, resourcesStart, resourcesEnd));
  check(/- Header: Vary\s*\n\s*Value: Accept/.test(policy), "VaryAcceptPolicy does not add Vary: Accept");
}

const size = Buffer.byteLength(substitute(rawCode, { NegotiatedPresets: defaultPresets }), "utf8");
if (failures.length) {
  for (const failure of failures.slice(0, 200)) console.log("FAIL " + failure);
  if (failures.length > 200) console.log(`... and ${failures.length - 200} more`);
  console.log(`${failures.length} of ${checks} checks failed`);
  process.exit(1);
}
console.log(`ok: ${checks} checks (${table.length} Accept headers x ${uris.length} URIs x ${values.length} NegotiatedPresets values); ` +
  `function ${size} bytes with the default`);
