// Validate policyconf documents with Ajv, a JSON Schema 2020-12 validator independent of the
// Python `jsonschema` package the loader uses.
//
//   node tests/editor/check_schema.mjs            every products/*.yaml and products/*.tests.yaml
//   node tests/editor/check_schema.mjs FILE...    just these files
//
// A file ending in `.tests.yaml` is checked against schemas/tests.schema.json, any other file
// against schemas/product.schema.json. Both schemas are compiled first, so a schema that Ajv
// rejects (or that breaks a strict-mode rule) fails the run even when there are no files.
//
// A product with `extends` is a JSON Merge Patch over its base, so it is checked as the loader
// (engine/schema.py, engine/book.py) checks it: the file itself against the product schema with
// every nested `required` removed (the top-level one kept), then the base merged with it
// (RFC 7386) against the full schema. The base is the product file in the same folder whose
// `id` is the `extends` value and whose `effective_from` is the latest on or before this one's.
//
// Prints one JSON object on stdout:
//   {"schemas": {"product.schema.json": {"id": ..., "compiled": true}, ...},
//    "warnings": [Ajv strict-mode warnings],
//    "files": [{"file", "name", "schema", "patch", "valid", "errors": [...],
//               "merged": null | {"base", "valid", "errors"}}, ...]}
// Exit status: 0 all files valid, 1 some file invalid (or unreadable), 2 a schema did not compile.
import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import Ajv2020 from "ajv/dist/2020.js";
import YAML from "yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SCHEMAS = join(ROOT, "schemas");
const PRODUCTS = join(ROOT, "products");

// Strict mode throughout: unknown keywords, ignored keywords ("strictSchema"), ambiguous numbers
// and tuples, `required` naming undefined properties, keywords without their type ("strictTypes")
// are errors. One setting differs from `strict: true`:
// - allowUnionTypes: `$defs/expression` is `"type": ["string", "number", "boolean"]` (an
//   expression may be written as a YAML number or boolean, e.g. `depreciation: 0`), and tests.schema
//   uses `["string", "null"]`. Union types are plain JSON Schema; strict mode only wants them
//   allowed explicitly.
// strictTypes is "log" so that a finding is reported in the output ("warnings") rather than
// thrown; the pytest test requires that list to be empty.
function makeAjv(warnings) {
  const push = (...args) => warnings.push(args.map(String).join(" "));
  return new Ajv2020({
    strict: true,
    strictTypes: "log",
    allowUnionTypes: true,
    allErrors: true,
    logger: { log: () => {}, warn: push, error: push },
  });
}

// engine/schema.py's patch schema: every `required` below the top level removed.
function withoutRequired(node) {
  if (Array.isArray(node)) return node.map(withoutRequired);
  if (node && typeof node === "object") {
    return Object.fromEntries(
      Object.entries(node).filter(([k]) => k !== "required").map(([k, v]) => [k, withoutRequired(v)]),
    );
  }
  return node;
}

// engine/book.py's _IDENTITY: keys a derived product never inherits.
const IDENTITY = ["id", "name", "version", "effective_from", "effective_until", "extends", "wording"];

// RFC 7386 JSON Merge Patch, as engine/book.py's merge_patch.
function mergePatch(base, patch) {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return structuredClone(patch);
  const result = base && typeof base === "object" && !Array.isArray(base) ? structuredClone(base) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function errorList(validate) {
  return (validate.errors || []).map((e) => ({
    instancePath: e.instancePath,
    schemaPath: e.schemaPath,
    keyword: e.keyword,
    params: e.params,
    message: e.message,
  }));
}

const message = (err) => String(err && err.message ? err.message : err);

const warnings = [];
const ajv = makeAjv(warnings);
const out = { schemas: {}, warnings, files: [] };
const validators = {};
let compileFailed = false;
for (const name of ["product.schema.json", "tests.schema.json"]) {
  try {
    const schema = JSON.parse(readFileSync(join(SCHEMAS, name), "utf8"));
    validators[name] = ajv.compile(schema);
    out.schemas[name] = { id: schema.$id, compiled: true };
    if (name === "product.schema.json") {
      // A separate Ajv instance: the patch schema has the same $id.
      const patch = { ...withoutRequired(schema), required: schema.required };
      validators.patch = makeAjv(warnings).compile(patch);
    }
  } catch (err) {
    compileFailed = true;
    out.schemas[name] = { compiled: false, error: message(err) };
  }
}

// YAML 1.2 core schema, as the language server reads it: `2024-01-01` stays a string.
const parse = (file) => YAML.parse(readFileSync(file, "utf8"), { uniqueKeys: true });

function findBase(file, data) {
  const folder = dirname(file);
  let best = null;
  for (const name of readdirSync(folder).sort()) {
    if (!/\.ya?ml$/.test(name) || /\.tests\.ya?ml$/.test(name)) continue;
    let other;
    try {
      other = parse(join(folder, name));
    } catch {
      continue;
    }
    if (!other || other.id !== data.extends || typeof other.effective_from !== "string") continue;
    if (other.effective_from > data.effective_from) continue;
    if (!best || other.effective_from > best.data.effective_from) best = { file: join(folder, name), data: other };
  }
  return best;
}

let files = process.argv.slice(2).map((f) => resolve(f));
if (files.length === 0) {
  files = readdirSync(PRODUCTS)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(PRODUCTS, f));
}

let invalid = false;
if (!compileFailed) {
  for (const file of files) {
    const schema = /\.tests\.ya?ml$/.test(file) ? "tests.schema.json" : "product.schema.json";
    const entry = { file, name: basename(file), schema, patch: false, valid: false, errors: [], merged: null };
    try {
      const data = parse(file);
      const isPatch = schema === "product.schema.json" && data && typeof data === "object" && "extends" in data;
      entry.patch = Boolean(isPatch);
      const validate = isPatch ? validators.patch : validators[schema];
      entry.valid = validate(data);
      entry.errors = errorList(validate);
      if (isPatch && entry.valid) {
        const base = findBase(file, data);
        if (!base) {
          entry.valid = false;
          entry.merged = { base: null, valid: false, errors: [{ keyword: "extends", message: `no base product '${data.extends}' in ${dirname(file)}` }] };
        } else {
          // As engine/book.py: the base without its identity keys, patched with this file
          // without `extends`.
          const inherited = Object.fromEntries(Object.entries(base.data).filter(([k]) => !IDENTITY.includes(k)));
          const patch = Object.fromEntries(Object.entries(data).filter(([k]) => k !== "extends"));
          const merged = mergePatch(inherited, patch);
          const full = validators[schema];
          const ok = full(merged);
          entry.merged = { base: base.file, valid: ok, errors: errorList(full) };
          entry.valid = ok;
        }
      }
    } catch (err) {
      entry.errors = [{ keyword: "parse", message: message(err) }];
    }
    if (!entry.valid) invalid = true;
    out.files.push(entry);
  }
}

process.stdout.write(JSON.stringify(out, null, 2) + "\n");
process.exitCode = compileFailed ? 2 : invalid ? 1 : 0;
