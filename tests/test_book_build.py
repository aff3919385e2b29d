"""`make html` builds the book: every section page exists with its
evaluated outputs and figures, and Sphinx reports no broken reference,
citation or image."""
import glob
import os
import re

import pytest

from chapter import NOTEBOOKS, ROOT, SECTIONS, run_make, section_name

HTML = os.path.join(ROOT, '_build', 'html')
LOG = os.path.join(ROOT, '_build', 'make_html.log')
# Sphinx warnings that mean the reader sees something broken.
BROKEN = re.compile(r'WARNING: .*(undefined label|unknown target|citation|'
                    r'image file not readable|could not be found|'
                    r'failed to reach|unknown document|Unknown interpreted|'
                    r'Duplicate|not found|undefined)', re.I)


def library_sources():
    """The contents of every module of the d2l library."""
    return {path: open(path, 'rb').read()
            for path in sorted(glob.glob(os.path.join(ROOT, 'd2l', '*.py')))}


@pytest.fixture(scope='module')
def build_log():
    before = library_sources()
    log = run_make('html', LOG)
    return log, before, library_sources()


def test_build_leaves_the_library_alone(build_log):
    """`make html` checks that the generated modules are up to date and
    rewrites no source: only `make lib` writes them."""
    _, before, after = build_log
    assert before == after


def test_no_broken_references(build_log):
    broken = [line for line in build_log[0].splitlines()
              if BROKEN.search(line)]
    assert not broken, '\n'.join(broken)


@pytest.mark.parametrize('path', SECTIONS, ids=section_name)
def test_section_page_exists(build_log, path):
    page = os.path.join(HTML, 'chapter_hyperparameter_optimization',
                        section_name(path) + '.html')
    assert os.path.exists(page)
    html = open(page, encoding='utf-8').read()
    assert 'Traceback' not in html
    for src in re.findall(r'<img [^>]*src="([^"]+)"', html):
        if not src.startswith(('http:', 'https:', 'data:')):
            assert os.path.exists(os.path.join(os.path.dirname(page), src)), src


@pytest.mark.parametrize('path', NOTEBOOKS, ids=section_name)
def test_section_page_has_evaluated_outputs(build_log, path):
    page = os.path.join(HTML, 'chapter_hyperparameter_optimization',
                        section_name(path) + '.html')
    html = open(page, encoding='utf-8').read()
    # Outputs of evaluated cells are rendered as output blocks and images.
    assert re.search(r'<img [^>]*src="[^"]*output_[^"]+"', html), (
        f'{page} has no plot from an evaluated cell')
    assert 'highlight-none' in html or 'output' in html


def test_figures_of_the_chapter_are_copied(build_log):
    for svg in glob.glob(os.path.join(ROOT, 'img', '*.svg')):
        assert glob.glob(os.path.join(HTML, '_images',
                                      os.path.basename(svg)[:-4] + '*')), svg


@pytest.mark.parametrize('path', NOTEBOOKS, ids=section_name)
def test_section_page_switches_between_three_tabs(build_log, path):
    """Each section with code has a PyTorch, a TensorFlow and an MXNet tab."""
    page = os.path.join(HTML, 'chapter_hyperparameter_optimization',
                        section_name(path) + '.html')
    html = open(page, encoding='utf-8').read()
    for tab in ('pytorch', 'tensorflow', 'mxnet'):
        assert f"tagClick('{tab}')" in html, (page, tab)
        assert re.search(rf'class="mdl-tabs__panel[^"]*" id="{tab}-', html), (
            page, tab)
