"""The library files are generated from the chapter: they must be in sync,
and framework-free code must exist once, in d2l/hpo.py."""
import os
import re
import subprocess
import sys

from chapter import ROOT, SECTIONS


def test_library_is_in_sync_with_the_chapter():
    result = subprocess.run(
        [sys.executable, 'tools/build_library.py', '--check'], cwd=ROOT,
        capture_output=True, text=True)
    assert result.returncode == 0, (
        'd2l/*.py is out of date with the chapter sources; run `make lib`\n'
        + result.stdout + result.stderr)


def _saved_names(tab_marker):
    """Classes and functions defined in #@save cells with this tab line."""
    names = set()
    for path in SECTIONS:
        text = open(path, encoding='utf-8').read()
        for cell in re.findall(r'```\{\.python \.input\}\n(.*?)\n```', text, re.S):
            if cell.startswith(tab_marker) and '#@save' in cell:
                names.update(re.findall(
                    r'^(?:class|def) (\w+).*#@save', cell, re.M))
    return names


def _library(name):
    return open(os.path.join(ROOT, 'd2l', name + '.py')).read()


def test_framework_free_code_lives_only_in_hpo_module():
    hpo = _library('hpo')
    for name in _saved_names('%%tab all'):
        assert re.search(rf'^(class|def) {name}\b', hpo, re.M), name
        for framework in ('torch', 'tensorflow', 'mxnet'):
            assert not re.search(rf'^(class|def) {name}\b',
                                 _library(framework), re.M), (
                f'{name} is framework-free but was copied into '
                f'd2l/{framework}.py')


def test_every_framework_saves_the_same_names():
    """The chapter's framework-specific library code (HPOTrainer,
    hpo_objective, ...) exists in each framework's library."""
    names = {tab: _saved_names(f'%%tab {tab}')
             for tab in ('pytorch', 'tensorflow', 'mxnet')}
    assert names['pytorch'], 'no framework-specific #@save cell found'
    assert names['tensorflow'] == names['pytorch'] == names['mxnet'], names
    for framework, tab in (('torch', 'pytorch'), ('tensorflow', 'tensorflow'),
                           ('mxnet', 'mxnet')):
        for name in names[tab]:
            assert re.search(rf'^(class|def) {name}\b', _library(framework),
                             re.M), (framework, name)


def test_generated_functions_have_one_docstring():
    """d2lbook's "Defined in" line is merged into a function's own
    docstring, not put in front of it as a second string (which would leave
    the real docstring dead)."""
    import ast
    for name in ('hpo', 'torch', 'tensorflow', 'mxnet'):
        tree = ast.parse(_library(name))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            strings = [isinstance(s, ast.Expr) and isinstance(
                s.value, ast.Constant) and isinstance(s.value.value, str)
                for s in node.body[:2]]
            assert strings != [True, True], f'd2l/{name}.py: {node.name}'


def test_merge_docstrings_keeps_the_text_and_the_label():
    sys.path.insert(0, os.path.join(ROOT, 'tools'))
    import build_library
    text = ('def f(x):\n    """Defined in :numref:`sec_a`"""\n'
            '    """Two lines\n    of text."""\n    return x\n')
    merged = build_library.merge_docstrings(text)
    assert merged == ('def f(x):\n    """Two lines\n    of text.\n\n'
                      '    Defined in :numref:`sec_a`"""\n    return x\n')
    namespace = {}
    exec(merged, namespace)
    assert 'of text.' in namespace['f'].__doc__
    assert 'sec_a' in namespace['f'].__doc__
