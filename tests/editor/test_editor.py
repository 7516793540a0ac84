"""The schemas work in editors: checked with the real YAML language server and with Ajv.

`yaml-language-server` (the server behind VS Code's YAML extension, and the one Neovim, Helix,
Emacs, Sublime Text... use for YAML) is started over stdio and spoken to as an editor would, in
plain Python: Content-Length framed JSON-RPC, a reader thread, a hard deadline. Product files
find their schema through the modeline they carry
(`# yaml-language-server: $schema=../schemas/product.schema.json`), so the test copies a product
and the schemas folder into a temporary folder with the same layout.

Ajv (tests/editor/check_schema.mjs) is a second JSON Schema 2020-12 implementation, independent
of the Python `jsonschema` the loader uses: it must compile both schemas in strict mode and accept
every shipped product and test suite.

The shipped files (products/) are only opened whole, to check that each finds its schema and is
clean; the tests that edit a product's text (a misspelt key, hover over a rule) edit the engine's
frozen copy (tests/fixtures/products), so that a change of wording in products/ breaks none of them.

These tests need node and the packages pinned in tests/editor/package-lock.json; `make test`
installs them (`npm ci --prefix tests/editor`) when node is present. Without node they are skipped.
"""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

EDITOR = Path(__file__).resolve().parent
ROOT = EDITOR.parent.parent
PRODUCTS = ROOT / "products"
FIXTURE_PRODUCTS = ROOT / "tests" / "fixtures" / "products"
SCHEMAS = ROOT / "schemas"
NODE_MODULES = EDITOR / "node_modules"
SERVER = NODE_MODULES / "yaml-language-server" / "bin" / "yaml-language-server"
CHECK_SCHEMA = EDITOR / "check_schema.mjs"

NODE = shutil.which("node")
if NODE is None:
    pytest.skip("node is not installed: editor tests need node and `npm ci --prefix tests/editor`",
                allow_module_level=True)
if not (SERVER.is_file() and (NODE_MODULES / "ajv").is_dir() and (NODE_MODULES / "yaml").is_dir()):
    pytest.skip("tests/editor/node_modules is not installed: editor tests need node and "
                "`npm ci --prefix tests/editor` (make test runs it)", allow_module_level=True)

# The whole conversation with the language server (start, every request, every wait) must end
# within this many seconds; the server is killed in any case.
DEADLINE_SECONDS = 30


def editor_settings(workspace: Path) -> dict:
    """The `yaml` settings section, as an editor's settings would give it."""
    schemas = workspace / "schemas"
    return {
        "validate": True,
        "hover": True,
        "completion": True,
        # No network: never fetch the SchemaStore catalogue.
        "schemaStore": {"enable": False},
        # For files without a modeline (an editor configured in its settings instead):
        # schema file URI -> globs relative to the workspace folder.
        "schemas": {
            (schemas / "product.schema.json").as_uri(): ["by-settings/*.yaml", "!by-settings/*.tests.yaml"],
            (schemas / "tests.schema.json").as_uri(): ["by-settings/*.tests.yaml"],
        },
    }


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


PRODUCT_SCHEMA = _schema("product.schema.json")


# --------------------------------------------------------------------------- LSP client

class LanguageServer:
    """A minimal LSP client over stdio: requests, notifications, and answers to the server's
    own requests (`workspace/configuration` gets `settings` as the `yaml` section)."""

    def __init__(self, root: Path, settings: dict):
        self.server_info: dict = {}
        self.settings = settings
        self.deadline = time.monotonic() + DEADLINE_SECONDS
        self.messages: queue.Queue = queue.Queue()
        self.diagnostics: dict[str, list[list[dict]]] = {}   # uri -> every publishDiagnostics, in order
        self.responses: dict[int, dict] = {}
        self.stderr: list[bytes] = []
        self.next_id = 0
        self.configurations_sent = 0   # answers to workspace/configuration
        self.proc = subprocess.Popen(
            [NODE, str(SERVER), "--stdio"], cwd=root,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    # -- wire
    def _read(self):
        stream = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length is None:
                    continue
                body = stream.read(length)
                if len(body) < length:
                    return
                self.messages.put(json.loads(body))
        finally:
            self.messages.put(None)

    def _send(self, message: dict):
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict | None = None):
        self._send({"method": method, "params": params or {}})

    def request(self, method: str, params: dict):
        self.next_id += 1
        wanted = self.next_id
        self._send({"id": wanted, "method": method, "params": params})
        response = self.wait(lambda: self.responses.get(wanted), f"the answer to {method}")
        if "error" in response:
            raise AssertionError(f"{method} failed: {response['error']}")
        return response.get("result")

    # -- dispatch
    def _handle(self, message: dict):
        if "method" in message and "id" in message:          # a request from the server
            method, params = message["method"], message.get("params") or {}
            result = None
            if method == "workspace/configuration":
                sections = {"yaml": self.settings, "http": {}, "[yaml]": {}, "editor": {}}
                result = [sections.get(item.get("section")) for item in params.get("items", [])]
                self.configurations_sent += 1
            self._send({"id": message["id"], "result": result})
        elif "method" in message:                            # a notification
            if message["method"] == "textDocument/publishDiagnostics":
                params = message["params"]
                self.diagnostics.setdefault(params["uri"], []).append(params["diagnostics"])
        else:                                                # a response
            self.responses[message["id"]] = message

    def wait(self, condition, what: str):
        """Handle messages until `condition()` is truthy; fail at the deadline."""
        while True:
            found = condition()
            if found:
                return found
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"yaml-language-server: no {what} within {DEADLINE_SECONDS} s; "
                                     f"stderr: {b''.join(self.stderr)[-2000:]!r}")
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise AssertionError(f"yaml-language-server exited (code {self.proc.poll()}) before {what}; "
                                     f"stderr: {b''.join(self.stderr)[-2000:]!r}")
            self._handle(message)

    # -- editor actions
    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "yaml", "version": 1, "text": text}})
        return uri

    def diagnostics_of(self, uri: str) -> list[dict]:
        """The first diagnostics published for `uri` (the server validates once on open)."""
        return self.wait(lambda: self.diagnostics.get(uri), f"diagnostics for {uri}")[0]

    def close(self):
        try:
            if self.proc.poll() is None and time.monotonic() < self.deadline:
                self.request("shutdown", None)
                self.notify("exit")
                self.proc.wait(timeout=2)
        except Exception:  # noqa: BLE001 - the process is killed below whatever happened
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                try:
                    stream.close()
                except OSError:
                    pass


CAPABILITIES = {
    "workspace": {"configuration": True, "didChangeConfiguration": {"dynamicRegistration": False}},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False},
        "publishDiagnostics": {"relatedInformation": True},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "completion": {"completionItem": {"snippetSupport": True,
                                          "documentationFormat": ["markdown", "plaintext"]}},
    },
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A folder laid out like the repository: products/ beside schemas/ (the modelines'
    `../schemas/...` resolve to the copies), and by-settings/ for files without a modeline."""
    root = tmp_path_factory.mktemp("editor")
    shutil.copytree(SCHEMAS, root / "schemas", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (root / "products").mkdir()
    (root / "by-settings").mkdir()
    return root


@pytest.fixture(scope="module")
def server(workspace):
    settings = editor_settings(workspace)
    client = LanguageServer(workspace, settings)
    try:
        result = client.request("initialize", {
            "processId": os.getpid(),
            "rootUri": workspace.as_uri(),
            "workspaceFolders": [{"uri": workspace.as_uri(), "name": "policyconf"}],
            "capabilities": CAPABILITIES,
            # yaml-language-server reads no settings from here (only `l10nPath`): it pulls them
            # with workspace/configuration, which LanguageServer answers with `settings`.
            "initializationOptions": {},
        })
        client.server_info = result.get("serverInfo", {})
        assert result["capabilities"].get("hoverProvider")
        assert result["capabilities"].get("completionProvider") is not None
        client.notify("initialized", {})
        # As an editor does when settings change; the server then pulls workspace/configuration.
        client.notify("workspace/didChangeConfiguration", {"settings": {"yaml": settings}})
        # Open nothing before the server has the settings (it validates on open without waiting).
        client.wait(lambda: client.configurations_sent, "workspace/configuration request")
        yield client
    finally:
        client.close()


def _open(server, workspace: Path, relative: str, text: str) -> str:
    path = workspace / relative
    path.write_text(text, encoding="utf-8")
    return server.open(path, text)


def _schema_of(server, uri: str) -> list[str]:
    """The schema files the server associates with a document (its own request, used by
    VS Code's status bar)."""
    return [schema["uri"].rsplit("/", 1)[-1] for schema in server.request("yaml/get/jsonSchema", uri)]


def _line_of(text: str, pattern: str) -> int:
    """The 0-based line (LSP numbering) of the only line matching `pattern`."""
    lines = [i for i, line in enumerate(text.splitlines()) if re.search(pattern, line)]
    assert len(lines) == 1, (pattern, lines)
    return lines[0]


def _fixture_text(name: str) -> str:
    """A fixture product's text, its modeline pointing at schemas/ as the workspace lays it out."""
    text = (FIXTURE_PRODUCTS / name).read_text(encoding="utf-8")
    return text.replace("$schema=../../../schemas/", "$schema=../schemas/", 1)


AD_TEXT = _fixture_text("accidental-damage.yaml")


# --------------------------------------------------------------------------- language server

def test_server_version_supports_2020_12(server):
    # yaml-language-server 1.20.0 added JSON Schema 2019-09 and 2020-12, the "$schema" of ours;
    # 1.19.x validates everything as draft-07. (2.x needs node >= 22.13.)
    assert server.server_info.get("name") == "yaml-language-server"
    version = tuple(int(part) for part in server.server_info["version"].split(".")[:2])
    assert version >= (1, 20), server.server_info


def test_server_applies_draft_2020_12_keywords(server, workspace):
    """Keywords a draft-07 validator ignores (1.19.2 reports nothing here) are enforced."""
    probe = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
            "dep": {"type": "object", "dependentRequired": {"a": ["b"]}},
        },
        "allOf": [{"properties": {"x": {"type": "string"}}}],
        "unevaluatedProperties": False,
    }
    (workspace / "schemas" / "probe-2020-12.json").write_text(json.dumps(probe), encoding="utf-8")
    text = ("# yaml-language-server: $schema=../schemas/probe-2020-12.json\n"
            "pair: [a, b]\nx: evaluated by allOf\nextra: 1\ndep: {a: 1}\n")
    diagnostics = server.diagnostics_of(_open(server, workspace, "products/probe.yaml", text))
    lines = sorted(d["range"]["start"]["line"] for d in diagnostics)
    assert lines == [1, 3, 4], diagnostics  # prefixItems, unevaluatedProperties, dependentRequired


@pytest.mark.parametrize("name", sorted(p.name for p in PRODUCTS.glob("*.yaml")))
def test_shipped_file_opens_clean(server, workspace, name):
    text = (PRODUCTS / name).read_text(encoding="utf-8")
    uri = _open(server, workspace, f"products/{name}", text)
    diagnostics = server.diagnostics_of(uri)
    if name.endswith(".tests.yaml"):
        expected = "tests.schema.json"
    elif "\nextends:" in text:
        # a derived product is a JSON Merge Patch: its nested keys may be partial
        expected = "product-patch.schema.json"
    else:
        expected = "product.schema.json"
    assert _schema_of(server, uri) == [expected]
    assert diagnostics == []


@pytest.mark.parametrize("name, old, new, flagged, message", [
    # A misspelt top-level key: the product schema has additionalProperties false.
    ("eligibilty", "\neligibility:\n", "\neligibilty:\n", "eligibilty", "Property eligibilty is not allowed."),
    # A field type not in the enum, inside `fields` (additionalProperties, anyOf, $ref).
    ("mony", "  item.price: {type: money,", "  item.price: {type: mony,", "mony", "Value is not accepted."),
    # An expression given as a mapping instead of text, inside `settlement`.
    ("payout", "  payout: (gross - excess_applied) * (1 - claim.negligence_share)\n",
     "  payout: {gross: 1}\n", "{gross: 1}", "Incorrect type."),
])
def test_mistake_is_reported_on_its_line(server, workspace, name, old, new, flagged, message):
    assert AD_TEXT.count(old) == 1
    text = AD_TEXT.replace(old, new)
    start = text.index(new) + len(new) - len(new.lstrip("\n"))
    line = text.count("\n", 0, start)  # 0-based, as LSP counts
    diagnostics = server.diagnostics_of(_open(server, workspace, f"products/broken-{name}.yaml", text))
    # Exactly one problem: on the line of the mistake, covering the bad key or value.
    assert len(diagnostics) == 1, diagnostics
    (diagnostic,) = diagnostics
    assert diagnostic["source"].startswith("yaml-schema"), diagnostic
    assert diagnostic["message"].startswith(message), diagnostic
    start, end = diagnostic["range"]["start"], diagnostic["range"]["end"]
    assert start["line"] == end["line"] == line, diagnostic
    assert text.splitlines()[line][start["character"]:end["character"]] == flagged, diagnostic


def test_schema_from_settings_without_modeline(server, workspace):
    """Editors configured with `yaml.schemas` instead of modelines get the same diagnostics."""
    text = AD_TEXT.split("\n", 1)[1].replace("\neligibility:\n", "\neligibilty:\n")
    assert "yaml-language-server" not in text
    uri = _open(server, workspace, "by-settings/accidental-damage.yaml", text)
    diagnostics = server.diagnostics_of(uri)
    assert _schema_of(server, uri) == ["product.schema.json"]
    assert [(d["range"]["start"]["line"], d["message"]) for d in diagnostics] == [
        (_line_of(text, r"^eligibilty:"), "Property eligibilty is not allowed.")]
    tests_text = _fixture_text("accidental-damage.tests.yaml").split("\n", 1)[1]
    tests_uri = _open(server, workspace, "by-settings/accidental-damage.tests.yaml", tests_text)
    assert server.diagnostics_of(tests_uri) == []
    assert _schema_of(server, tests_uri) == ["tests.schema.json"]


def test_hover_shows_the_schema_description(server, workspace):
    uri = _open(server, workspace, "products/hover.yaml", AD_TEXT)
    server.diagnostics_of(uri)  # validated: the schema is loaded
    defs = PRODUCT_SCHEMA["$defs"]
    for pattern, character, description in [
        (r"^currencies:", 2, PRODUCT_SCHEMA["properties"]["currencies"]["description"]),
        (r"^eligibility:", 2, PRODUCT_SCHEMA["properties"]["eligibility"]["description"]),
        # a key the author names: a definition
        (r"^  eu_member_states:", 4, PRODUCT_SCHEMA["properties"]["definitions"]["additionalProperties"]["description"]),
        # a key inside a rule, described through $ref
        (r"^    when: days_between\(item\.purchased, policy\.purchased\)", 6, defs["rule"]["properties"]["when"]["description"]),
    ]:
        line = _line_of(AD_TEXT, pattern)
        hover = server.request("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
        assert hover, f"no hover at {pattern}"
        contents = hover["contents"]
        value = contents["value"] if isinstance(contents, dict) else str(contents)
        assert _plain(description) in _plain(value), (pattern, value)


def _plain(markdown: str) -> str:
    """Markdown as text: escapes and code marks dropped, whitespace collapsed."""
    return " ".join(re.sub(r"\\(.)", r"\1", markdown).replace("`", "").split())


def test_completion_offers_top_level_keys(server, workspace):
    # A new product being written: the required keys typed, the cursor on a new top-level line.
    text = ("# yaml-language-server: $schema=../schemas/product.schema.json\n"
            "id: new-product\nname: New product\nversion: \"2025-01-01\"\neffective_from: 2025-01-01\n"
            "\n")
    uri = _open(server, workspace, "products/new-product.yaml", text)
    server.diagnostics_of(uri)
    result = server.request("textDocument/completion", {
        "textDocument": {"uri": uri}, "position": {"line": 5, "character": 0}})
    items = result["items"] if isinstance(result, dict) else result
    labels = {item["label"] for item in items}
    written = {"id", "name", "version", "effective_from"}
    assert set(PRODUCT_SCHEMA["properties"]) - written <= labels, labels
    assert not labels & written, labels  # keys already written are not offered again
    eligibility = next(item for item in items if item["label"] == "eligibility")
    documentation = eligibility.get("documentation", "")
    documentation = documentation.get("value", "") if isinstance(documentation, dict) else documentation
    assert _plain(PRODUCT_SCHEMA["properties"]["eligibility"]["description"]) in _plain(documentation)


# --------------------------------------------------------------------------- Ajv

def _ajv(*files: Path) -> tuple[int, dict]:
    run = subprocess.run([NODE, str(CHECK_SCHEMA), *map(str, files)], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert run.stdout, run.stderr
    return run.returncode, json.loads(run.stdout)


def test_ajv_compiles_the_schemas_and_accepts_every_shipped_file():
    code, report = _ajv()
    assert all(s.get("compiled") for s in report["schemas"].values()), report["schemas"]
    assert report["warnings"] == []             # strict mode finds nothing to question
    names = {f["name"] for f in report["files"]}
    shipped = {p.name for p in PRODUCTS.glob("*.yaml")}
    assert names == shipped and any(n.endswith(".tests.yaml") for n in names), names
    invalid = {f["name"]: f["errors"] or f["merged"] for f in report["files"] if not f["valid"]}
    assert not invalid and code == 0, invalid
    # The derived product was also checked merged onto its base, as the loader does.
    assert {f["name"] for f in report["files"] if f["merged"]} == {"screen-protection.yaml"}


@pytest.mark.parametrize("kind", ["product", "tests"])
def test_ajv_rejects_an_unknown_key(tmp_path, kind):
    source = FIXTURE_PRODUCTS / ("accidental-damage.yaml" if kind == "product" else "accidental-damage.tests.yaml")
    broken = tmp_path / source.name
    broken.write_text(source.read_text(encoding="utf-8") + "\nunknown_key: 1\n", encoding="utf-8")
    code, report = _ajv(broken)
    (entry,) = report["files"]
    assert code == 1 and not entry["valid"]
    assert entry["schema"] == f"{kind}.schema.json"
    assert any(e["keyword"] == "additionalProperties" and e["params"] == {"additionalProperty": "unknown_key"}
               for e in entry["errors"]), entry["errors"]
