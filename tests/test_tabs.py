"""Every section offers all three frameworks: d2lbook's own tab check
passes, and every framework-specific code cell or prose block comes with a
version for each of the other frameworks right next to it."""
import os
import re
import subprocess
import sys

import pytest

from chapter import ROOT, SECTIONS, section_name

TABS = ('pytorch', 'tensorflow', 'mxnet')
CELL = re.compile(r'```\{\.python \.input\}\n(.*?)```', re.S)
PROSE_TAB = re.compile(r':begin_tab:`([^`]+)`')


def cell_tabs(source):
    """The tabs of each code cell, in order (None: the untagged cell that
    loads d2lbook's tab extension; ('prose',): text between two cells)."""
    tabs, end = [], 0
    for match in CELL.finditer(source):
        if source[end:match.start()].strip():
            tabs.append(('prose',))
        end = match.end()
        first = match.group(1).split('\n', 1)[0]
        tab = re.match(r'(?:%%tab|#@tab) (.+)', first)
        tabs.append(tuple(t.strip() for t in tab[1].split(','))
                    if tab else None)
    return tabs


def test_d2lbook_tabcheck_passes():
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'd2lbook'), 'build',
         'tabcheck'], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Unknown tab' not in result.stderr


@pytest.mark.parametrize('path', SECTIONS, ids=section_name)
def test_framework_cells_come_in_threes(path):
    tabs = cell_tabs(open(path).read())
    for i, cell in enumerate(tabs):
        if cell is None or cell == ('prose',):
            continue
        assert all(t in TABS + ('all',) for t in cell), (path, i, cell)
    # Consecutive framework-specific cells form a group, which must cover
    # every framework (once each).
    groups, group = [], []
    for cell in tabs + [('all',)]:
        if cell is not None and not {'all', 'prose'} & set(cell):
            group.extend(cell)
        elif group:
            groups.append(group)
            group = []
    for group in groups:
        assert sorted(group) == sorted(TABS), (
            f'{section_name(path)}: a group of cells has the tabs {group}')


@pytest.mark.parametrize('path', SECTIONS, ids=section_name)
def test_framework_prose_comes_in_threes(path):
    text = open(path).read()
    blocks = PROSE_TAB.findall(text)
    assert text.count(':begin_tab:') == text.count(':end_tab:')
    counts = {tab: sum(tab in block.split(',') for block in blocks)
              for tab in TABS}
    assert len(set(counts.values())) == 1, (section_name(path), counts)
