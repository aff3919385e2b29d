"""Readers open the chapter sources as notebooks with Jupytext (the
repository's jupytext.toml teaches it d2lbook's code-cell marker)."""
import os

import jupytext
import nbclient
import pytest
from d2lbook import notebook

from chapter import ROOT, SECTIONS, section_name

CONFIG = jupytext.config.find_jupytext_configuration_file(ROOT)


def read_with_jupytext(path):
    config = jupytext.config.load_jupytext_configuration_file(CONFIG)
    return jupytext.read(path, fmt=config.default_formats(path) or 'md',
                         config=config)


def test_configuration_is_found():
    assert CONFIG == os.path.join(ROOT, 'jupytext.toml')


@pytest.mark.parametrize('path', SECTIONS, ids=section_name)
def test_code_cells_match_d2lbook(path):
    text = open(path, encoding='utf-8').read()
    d2lbook_cells = [c.source for c in notebook.read_markdown(text).cells
                     if c.cell_type == 'code']
    jupytext_cells = [c.source for c in read_with_jupytext(path).cells
                      if c.cell_type == 'code']
    assert jupytext_cells == d2lbook_cells


@pytest.mark.parametrize('path', SECTIONS, ids=section_name)
def test_round_trip_keeps_the_source(path, tmp_path):
    nb = read_with_jupytext(path)
    config = jupytext.config.load_jupytext_configuration_file(CONFIG)
    out = tmp_path / os.path.basename(path)
    jupytext.write(nb, out, fmt='md', config=config)
    assert out.read_text(encoding='utf-8').strip() == open(
        path, encoding='utf-8').read().strip()


def test_opened_notebook_runs_the_selected_tab(tmp_path):
    """The tab magic of d2lbook runs only the selected tab's cells."""
    source = '\n'.join([
        '# A page', '', '```{.python .input}', '%load_ext d2lbook.tab',
        "tab.select_tab('pytorch')", '```', '',
        '```{.python .input}', '%%tab pytorch', "framework = 'pytorch'", '```',
        '', '```{.python .input}', '%%tab mxnet', "framework = 'mxnet'", '```',
        '', '```{.python .input}', '%%tab all', 'print(framework)', '```', ''])
    page = tmp_path / 'page.md'
    page.write_text(source)
    config = jupytext.config.load_jupytext_configuration_file(CONFIG)
    nb = jupytext.read(page, fmt='md', config=config)
    nbclient.NotebookClient(nb, timeout=60, kernel_name='python3').execute()
    assert nb.cells[-1].outputs[-1]['text'].strip() == 'pytorch'
