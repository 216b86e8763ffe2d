#!/usr/bin/env python3
"""Checks that the modules of `src/` import only down the declared layer order.

The order is declared once, in the ```layers block of docs/architecture.md: one layer per line,
lowest first; modules named on one line are peers. The checker reads every `src/**/*.rs` file
(comments and literals removed), resolves each `crate::`, `super::` and `self::` path (in `use`
trees and in expressions) to the module it names, and fails on

  * an edge from a top-level module to a peer or to a module of a higher layer,
  * a top-level module missing from the declared order,
  * an import cycle between top-level modules,
  * an import cycle between the submodules (files) of one top-level module, unless the module is
    listed in the ```layers-allow-cycles block (a registry whose entries and catalogue refer to
    each other).

Edges to and from a module's own root file (`mod.rs`) are not cycles: the root declares and
re-exports its submodules, which use the types it defines.

usage: check_layers.py [REPO]        check REPO (default: the repository holding this script)
       check_layers.py --self-test   run the checker's own unit tests
"""

import os
import re
import sys
import tempfile
import unittest

DOC = os.path.join("docs", "architecture.md")


def read_blocks(doc_text, name):
    """Lines of the fenced block ```name (comments and blank lines dropped), or None."""
    m = re.search(r"^```" + re.escape(name) + r"[ \t]*\n(.*?)^```", doc_text, re.M | re.S)
    if not m:
        return None
    lines = []
    for line in m.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line.split())
    return lines


def strip_code(text):
    """`text` with comments, string and char literals blanked (newlines kept, so lines stay)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if text[i] == "\n" else "")
                    i += 1
        elif re.match(r'b?r(#*)"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'b?r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'":
            m = re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", text[i:])
            if m:  # a char literal; otherwise a lifetime
                out.append("' '")
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use(tree):
    """The paths of a `use` tree (`a::{b, c::{d as e}}` → ["a::b", "a::c::d"])."""
    tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", tree))
    paths = []

    def walk(prefix, t):
        depth, start, parts = 0, 0, []
        for k, ch in enumerate(t):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(t[start:k])
                start = k + 1
        parts.append(t[start:])
        for p in parts:
            if not p:
                continue
            b = p.find("{")
            if b >= 0:
                head = p[:b].rstrip(":")
                walk(prefix + ([head] if head else []), p[b + 1:p.rindex("}")])
            else:
                paths.append("::".join(prefix + [p]))

    walk([], tree)
    return paths


def module_of(rel):
    """Module path of a file below src/ (`network/mod.rs` → [network])."""
    parts = rel[:-3].split("/")
    if parts[-1] == "mod":
        parts.pop()
    return parts


def references(text):
    """(line, path, inline module stack) of every `crate::`/`super::`/`self::` path in `text`."""
    code = strip_code(text)
    refs = []
    # Inline modules (`mod tests { ... }`): `super` inside one refers to the enclosing file module.
    stack, depth, mods = [], 0, []
    events = []
    for m in re.finditer(r"\bmod\s+(\w+)\s*\{|[{}]", code):
        events.append((m.start(), m.group(0), m.group(1)))
    spans = []  # (start, end, name) of inline modules
    for pos, tok, name in events:
        if name:
            depth += 1
            stack.append((depth, pos, name))
        elif tok == "{":
            depth += 1
        else:
            if stack and stack[-1][0] == depth:
                _, start, nm = stack.pop()
                spans.append((start, pos, nm))
            depth -= 1

    def inline_at(pos):
        inside = [(s, nm) for s, e, nm in spans if s < pos < e]
        return [nm for _, nm in sorted(inside)]

    use_spans = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        use_spans.append((m.start(), m.end()))
        line = code.count("\n", 0, m.start()) + 1
        for p in expand_use(m.group(1)):
            if re.match(r"(crate|super|self)(::|$)", p):
                refs.append((line, p, inline_at(m.start())))
    for m in re.finditer(r"(?<![\w:])(crate|super|self)((?:::\w+)+)", code):
        if any(s <= m.start() < e for s, e in use_spans):
            continue
        line = code.count("\n", 0, m.start()) + 1
        refs.append((line, m.group(0), inline_at(m.start())))
    return refs


def resolve(module, inline, path):
    """Absolute module path (a list) that `path` names from `module` (+ inline modules)."""
    here = module + inline
    segs = path.split("::")
    if segs[0] == "crate":
        return segs[1:]
    out = list(here)
    while segs and segs[0] in ("super", "self"):
        if segs.pop(0) == "super":
            out = out[:-1]
    return out + segs


def scc(nodes, edges):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, on, stack, comps = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return comps


def check(repo):
    """The list of violations in `repo` (empty when the layering holds)."""
    doc_path = os.path.join(repo, DOC)
    try:
        doc = open(doc_path, encoding="utf-8").read()
    except OSError as e:
        return [f"{DOC}: cannot read the declared order: {e}"]
    layers = read_blocks(doc, "layers")
    if not layers:
        return [f"{DOC}: no ```layers block declaring the module order"]
    allow = {m for line in (read_blocks(doc, "layers-allow-cycles") or []) for m in line}
    rank = {}
    for r, line in enumerate(layers):
        for m in line:
            if m in rank:
                return [f"{DOC}: module `{m}` is declared twice in the ```layers block"]
            rank[m] = r

    src = os.path.join(repo, "src")
    files = {}
    for root, _, names in os.walk(src):
        for nm in names:
            if nm.endswith(".rs"):
                rel = os.path.relpath(os.path.join(root, nm), src).replace(os.sep, "/")
                if rel not in ("lib.rs", "main.rs"):
                    files[rel] = module_of(rel)
    tops = {mod[0] for mod in files.values()}
    subs = {}  # top-level module → its submodules (files)
    for mod in files.values():
        if len(mod) > 1:
            subs.setdefault(mod[0], set()).add(mod[1])

    errors = []
    for t in sorted(tops - set(rank)):
        errors.append(f"src/{t}: module `{t}` is not in the ```layers block of {DOC}")
    top_edges, sub_edges, where = {}, {}, {}
    for rel, mod in sorted(files.items()):
        text = open(os.path.join(src, rel), encoding="utf-8").read()
        for line, path, inline in references(text):
            target = resolve(mod, inline, path)
            if not target or target[0] not in tops:
                continue
            a, b = mod[0], target[0]
            if a != b:
                top_edges.setdefault(a, set()).add(b)
                where.setdefault((a, b), f"src/{rel}:{line}: {path}")
            elif len(mod) > 1 and len(target) > 1 and target[1] in subs.get(a, ()):
                x, y = f"{a}::{mod[1]}", f"{a}::{target[1]}"
                if x != y:
                    sub_edges.setdefault(x, set()).add(y)
                    where.setdefault((x, y), f"src/{rel}:{line}: {path}")

    for a in sorted(top_edges):
        for b in sorted(top_edges[a]):
            if a in rank and b in rank and rank[b] >= rank[a]:
                kind = "a peer" if rank[b] == rank[a] else "a higher layer"
                errors.append(f"{where[(a, b)]}: `{a}` imports `{b}`, {kind} ({DOC})")
    for comp in scc(tops, top_edges):
        evidence = "; ".join(where[(x, y)] for x in comp for y in comp if (x, y) in where)
        errors.append("import cycle between modules " + ", ".join(comp) + f" ({evidence})")
    for comp in scc(set(sub_edges) | {y for ys in sub_edges.values() for y in ys}, sub_edges):
        if comp[0].split("::")[0] in allow:
            continue
        evidence = "; ".join(where[(x, y)] for x in comp for y in comp if (x, y) in where)
        errors.append("import cycle between submodules " + ", ".join(comp) + f" ({evidence})")
    return errors


class CheckerTest(unittest.TestCase):
    """The checker on small made-up crates."""

    DOC = "```layers\nbase\nmiddle\ntop\n```\n"

    def crate(self, files, doc=None):
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "docs"))
        with open(os.path.join(d, DOC), "w") as f:
            f.write(self.DOC if doc is None else doc)
        for rel, text in files.items():
            p = os.path.join(d, "src", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        return d

    GOOD = {
        "lib.rs": "pub mod base; pub mod middle; pub mod top;",
        "base.rs": "pub struct B;",
        "middle/mod.rs": "pub mod a; pub mod b; pub use a::A; pub struct E;",
        "middle/a.rs": "use crate::base::B; use super::E; pub struct A(B);",
        "middle/b.rs": "use super::a::A;\n#[cfg(test)]\nmod tests { use super::*; }",
        "top.rs": "use crate::{base::B, middle::{a::A, b}};\nfn f() { let _ = crate::middle::E; }",
    }

    def test_downward_edges_pass(self):
        self.assertEqual(check(self.crate(self.GOOD)), [])

    def test_an_upward_edge_fails(self):
        files = dict(self.GOOD)
        files["base.rs"] = "pub struct B;\nfn f() { crate::top::g(); }"
        errs = check(self.crate(files))
        self.assertTrue(any("src/base.rs:2" in e and "`base` imports `top`" in e for e in errs), errs)
        self.assertTrue(any("import cycle between modules" in e for e in errs), errs)

    def test_an_upward_use_in_a_nested_tree_fails(self):
        files = dict(self.GOOD)
        files["middle/a.rs"] = "use crate::{base::B, top::{self as t}};"
        errs = check(self.crate(files))
        self.assertTrue(any("`middle` imports `top`" in e for e in errs), errs)

    def test_peers_may_not_import_each_other(self):
        doc = "```layers\nbase other\nmiddle\ntop\n```\n"
        files = dict(self.GOOD)
        files["other.rs"] = "use super::base::B;"
        errs = check(self.crate(files, doc))
        self.assertTrue(any("`other` imports `base`, a peer" in e for e in errs), errs)

    def test_a_cycle_between_files_of_a_module_fails_unless_allowed(self):
        files = dict(self.GOOD)
        files["middle/a.rs"] = "use super::b::x;"
        errs = check(self.crate(files))
        self.assertTrue(any("middle::a, middle::b" in e for e in errs), errs)
        allowed = self.DOC + "```layers-allow-cycles\nmiddle\n```\n"
        self.assertEqual(check(self.crate(files, allowed)), [])

    def test_comments_and_strings_are_not_imports(self):
        files = dict(self.GOOD)
        files["base.rs"] = (
            "//! See [`crate::top`].\n/* crate::top::x */\n"
            "const S: &str = \"crate::top::x\"; const R: &str = r#\"use crate::top;\"#;\n"
            "const C: char = '\"'; fn f<'a>(x: &'a str) -> &'a str { x }"
        )
        self.assertEqual(check(self.crate(files)), [])

    def test_an_undeclared_module_fails(self):
        files = dict(self.GOOD)
        files["extra.rs"] = ""
        errs = check(self.crate(files))
        self.assertTrue(any("`extra` is not in the ```layers block" in e for e in errs), errs)


def main(argv):
    if argv[1:] == ["--self-test"]:
        prog = unittest.main(argv=argv[:1], exit=False, verbosity=1)
        return 0 if prog.result.wasSuccessful() else 1
    repo = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    errors = check(repo)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"{len(errors)} layering violation(s); the order is declared in {DOC}", file=sys.stderr)
        return 1
    print("layers: every import points down the declared order; no import cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
