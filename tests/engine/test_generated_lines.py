"""The line numbers of a product's generated module (engine.codegen `compile`): every node of it at
the product file line its code comes from, exactly as the walk it replaced (ast.walk over the
whole module) set them, for every shipped product, fixture product and corpus product that builds.
"""
from __future__ import annotations

import ast as pyast
import pathlib

from policyconf import load
from policyconf.engine import codegen

ROOT = pathlib.Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "products", ROOT / "tests" / "fixtures" / "products",
           *sorted(path for path in (ROOT / "tests" / "corpus").iterdir() if path.is_dir())]


def _walked(code: codegen.ProductCode, tree: pyast.AST) -> None:
    """The remap as it was: ast.walk, and each line looked up in the product's own lines."""
    file = code.product.file
    own = {number: origin[1] for number, (_, _, origin) in enumerate(code.lines, 1)
           if origin is not None and origin[0] == file}
    elsewhere = code.builder.source.span(("extends",)).line if code.product.extends else 1
    for node in pyast.walk(tree):
        if hasattr(node, "lineno"):
            generated = node.lineno
            line = own.get(generated, elsewhere if generated in own or code.lines[generated - 1][2] else 1)
            node.lineno = node.end_lineno = line


def _numbers(tree: pyast.AST) -> list[tuple]:
    return [(type(node).__name__, getattr(node, "lineno", None), getattr(node, "end_lineno", None))
            for node in pyast.walk(tree)]


def test_every_node_gets_the_line_the_old_walk_gave_it(monkeypatch):
    compiled = codegen.ProductCode.compile
    seen = []

    def both(self):
        made = compiled(self)
        text = self.source()
        before, after = pyast.parse(text), pyast.parse(text)
        _walked(self, before)
        codegen._at_lines(after, self.file_lines())
        assert _numbers(after) == _numbers(before), self.product.file
        assert compile(after, self.product.file, "exec") == compile(before, self.product.file, "exec") \
            == made.parts[0]
        seen.append((self.product.file, bool(self.product.extends),
                     len({line for _, line, _ in _numbers(after) if line is not None})))
        return made
    monkeypatch.setattr(codegen.ProductCode, "compile", both)
    monkeypatch.setenv("POLICYCONF_CACHE_DIR", "off")
    for folder in FOLDERS:
        load([str(folder)])
    assert len(seen) >= 20
    assert any(extends for _, extends, _ in seen)              # derived products: inherited lines at `extends`
    assert all(lines > 5 for _, extends, lines in seen if not extends)     # not all at line 1


def test_loading_leaves_the_garbage_collector_as_it_found_it():
    """The command line holds the collector off while it loads products (the library never
    touches it): held during the load, as found after it, after a failed one, and after loads
    that overlap in threads."""
    import gc
    import threading

    from policyconf.engine import cli

    enabled = gc.isenabled()
    try:
        for state in (True, False):
            (gc.enable if state else gc.disable)()
            with cli._collector_held():
                assert not gc.isenabled()
            assert gc.isenabled() is state
            try:
                with cli._collector_held():
                    raise ValueError
            except ValueError:
                pass
            assert gc.isenabled() is state
            start, seen = threading.Barrier(8), []

            def load():
                start.wait()
                for _ in range(200):
                    with cli._collector_held():
                        seen.append(gc.isenabled())
            threads = [threading.Thread(target=load) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(seen) == 1600 and not any(seen)
            assert gc.isenabled() is state
    finally:
        (gc.enable if enabled else gc.disable)()
