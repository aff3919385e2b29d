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
