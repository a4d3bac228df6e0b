#!/usr/bin/env python3
"""Import cycles between the top-level modules of waiaas-core/src.

A module of services/ counts as its own module (`services::x`). A reference `crate::x` in module y, or a use of `Engine` (the facade in `engine`) in module y,
is an edge y -> x. Comments and test code (`#[cfg(test)] mod tests { ... }` at the end of a file,
and files named tests.rs) are not counted. Prints the strongly connected components with more
than one module and, with --edges, the references behind each edge inside them.
With --methods, a call `self.m(` or `engine.m(` of a method `m` that an `impl Engine` block of module x defines
(and no other fn of the crate) is an edge to x too: the dependencies the facade hides.
Exit status 1 when there is a cycle, 0 otherwise. Run from the repository root.
"""
import os
import re
import sys
from collections import defaultdict

ROOT = 'waiaas-core/src'
ENGINE = re.compile(r'(?<!base64::)\bEngine\b')


def code_lines(text):
    text = re.split(r'#\[cfg\(test\)\]\s*mod tests\b', text)[0]
    for n, line in enumerate(text.split('\n'), 1):
        code = line.split('//')[0] if '//' in line else line
        if code.strip():
            yield n, code


def module_of(rel):
    parts = [x.removesuffix('.rs') for x in rel.split('/')]
    top = parts[0]
    if top == 'services' and len(parts) > 1 and parts[1] != 'mod':
        top = 'services::' + parts[1]
    return top


def sources():
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith('.rs') and f != 'tests.rs':
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)
                if rel != 'lib.rs':
                    with open(path) as fh:
                        yield rel, module_of(rel), re.split(r'#\[cfg\(test\)\]\s*mod tests\b', fh.read())[0]


def engine_methods():
    """Methods of `impl Engine` blocks outside engine.rs: name -> defining module, for names
    defined by exactly one module and by no other fn of the crate."""
    defined, other = defaultdict(set), set()
    for _, top, text in sources():
        spans = []
        for m in re.finditer(r'\bimpl Engine \{', text):
            depth, i = 0, m.end() - 1
            while i < len(text):
                depth += {'{': 1, '}': -1}.get(text[i], 0)
                if depth == 0:
                    break
                i += 1
            spans.append((m.end(), i))
            for name in re.findall(r'\bfn ([a-z_][a-z0-9_]*)', text[m.end():i]):
                defined[name].add(top)
        for m in re.finditer(r'\bfn ([a-z_][a-z0-9_]*)', text):
            if not any(a <= m.start() < b for a, b in spans):
                other.add(m.group(1))
    return {n: next(iter(ms)) for n, ms in defined.items() if len(ms) == 1 and n not in other}


def graph():
    edges = defaultdict(lambda: defaultdict(list))
    mods = set()
    methods = engine_methods() if '--methods' in sys.argv else {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith('.rs') or f == 'tests.rs':
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, ROOT)
            top = module_of(rel)
            if top == 'lib':
                continue
            mods.add(top)
            with open(path) as fh:
                for n, line in code_lines(fh.read()):
                    refs = set(re.findall(r'crate::([a-z_][a-z0-9_]*)', line))
                    if 'services' in refs:
                        refs.discard('services')
                        refs.update('services::' + x for x in re.findall(r'crate::services::([a-z_][a-z0-9_]*)', line))
                        for group in re.findall(r'crate::services::\{([^}]*)\}', line):
                            refs.update('services::' + x.strip().split('::')[0] for x in group.split(',') if x.strip())
                    if top != 'engine' and ENGINE.search(line) and 'base64::Engine' not in line:
                        refs.add('engine')
                    for name in re.findall(r'\b(?:self|engine)\.([a-z_][a-z0-9_]*)\(', line):
                        if name in methods:
                            refs.add(methods[name])
                    for d in refs:
                        if d != top:
                            edges[top][d].append(f'{rel}:{n}: {line.strip()[:140]}')
    return mods, {m: {d: edges[m][d] for d in edges[m] if d in mods} for m in mods}


def sccs(g):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
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
            out.append(comp)

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def main():
    mods, g = graph()
    cyclic = [sorted(c) for c in sccs(g) if len(c) > 1]
    print('modules', len(mods), 'cyclic components', len(cyclic))
    for comp in cyclic:
        print(len(comp), comp)
        for m in comp:
            inside = sorted(d for d in g[m] if d in comp)
            print(' ', m, '->', inside)
            if '--edges' in sys.argv:
                for d in inside:
                    for ref in g[m][d]:
                        print('     ', f'{m}->{d}', ref)
    return 1 if cyclic else 0


if __name__ == '__main__':
    sys.exit(main())
