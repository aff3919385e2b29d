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


def test_framework_free_code_lives_only_in_hpo_module():
    hpo = open(os.path.join(ROOT, 'd2l', 'hpo.py')).read()
    torch = open(os.path.join(ROOT, 'd2l', 'torch.py')).read()
    for name in _saved_names('%%tab all'):
        assert re.search(rf'^(class|def) {name}\b', hpo, re.M), name
        assert not re.search(rf'^(class|def) {name}\b', torch, re.M), (
            f'{name} is framework-free but was copied into d2l/torch.py')
