"""The lecture slides: `make slides` builds one reveal.js deck per section
from the slide marks of the sources, and every deck works offline.

The fast tests check how tools/build_slides.py picks what goes on a slide.
The end-to-end tests build the decks once (a module fixture, `make slides`,
which only renders when tests/test_notebooks.py has evaluated the notebooks
earlier in the run; see conftest.py), then headless Chromium opens each deck
served on 127.0.0.1 with every other request aborted, and pages through all
slides with Reveal's API: no outside request, no broken image, the math
typeset by MathJax. Without Debian's chromium or Python's playwright the
browser tests skip, except under CI=true, where they fail.
"""
import glob
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import nbformat
import pytest

import browser as browser_support

from chapter import NOTEBOOKS, ROOT, run_make, section_name

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import build_slides  # noqa: E402

SLIDES = os.path.join(ROOT, '_build', 'slides')
MAKE_LOG = os.path.join(ROOT, '_build', 'make_slides.log')
MIN_SLIDES = 6  # a deck of the key ideas of a section, not just a title


# ------------------------------------------------- what goes on a slide

def _nb(*cells):
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(c[5:]) if c.startswith('code:')
        else nbformat.v4.new_markdown_cell(c) for c in cells])


def test_code_follows_a_marked_paragraph():
    nb = build_slides.select_code(_nb(
        'intro', 'code:import x',
        'text\n\n[**key idea**]', 'code:central()', 'code:next_to_it()',
        '[**marked**] earlier\n\nunmarked last paragraph', 'code:detail()'))
    assert [c.source for c in nb.cells if c.cell_type == 'code'] == [
        'central()', 'next_to_it()']


def test_paragraphs_and_headings_make_the_slides():
    nb = build_slides.slide_notebook(_nb(
        '# Title\n:label:`sec_x`\n\nplain\n\n[**First idea.**]',
        'code:run()',
        '## Part\n\nplain\n\n(**More on it :cite:`key`.**)\n\n'
        '(**$$a = b.$$**)\n\n[**![A figure](../img/f.svg)**]'))
    kinds = [(c.cell_type, c.metadata.get('slideshow', {}).get('slide_type'))
             for c in nb.cells]
    assert kinds == [('markdown', '-'), ('markdown', 'slide'), ('code', None),
                     ('markdown', 'slide'), ('markdown', '-'),
                     ('markdown', 'slide')]
    text = [c.source for c in nb.cells]
    assert text[0].startswith('# Title') and 'plain' not in text[0]
    assert text[3] == '## Part\nMore on it'  # the heading starts its slide
    assert text[4] == '$$a = b$$'
    assert text[5] == '![A figure](img/f.svg)'


# ------------------------------------------------------------- the decks

@pytest.fixture(scope='module')
def decks():
    # `make slides` evaluates outdated notebooks first, as `make pdf` does;
    # under `make test` tests/test_notebooks.py has evaluated them already.
    # D2L_SLIDES_NO_EVAL=1 runs tools/build_slides.py alone, on the
    # evaluated notebooks as they are: enough after a change of prose (or
    # marks) only, which leaves the code and its outputs as they were.
    if os.environ.get('D2L_SLIDES_NO_EVAL') == '1':
        result = subprocess.run([os.path.join(ROOT, '.venv', 'bin', 'python'),
                                 os.path.join(ROOT, 'tools', 'build_slides.py')],
                                cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    else:
        run_make('slides', MAKE_LOG)
    found = {section_name(p): p for p in glob.glob(os.path.join(SLIDES,
                                                                '*.html'))}
    assert sorted(found) == sorted(section_name(p) for p in NOTEBOOKS
                                   if section_name(p) != 'index')
    return found


def test_every_deck_has_slides_and_local_assets(decks):
    for name, path in decks.items():
        html = open(path, encoding='utf-8').read()
        assert html.count('<section') >= MIN_SLIDES, name
        assert not build_slides.FETCHED_URL.search(html), name
        assert '(**' not in html and '[**' not in html, name
    assert os.path.exists(os.path.join(SLIDES, 'reveal.js', 'dist',
                                       'reveal.js'))
    assert os.path.exists(os.path.join(SLIDES, 'mathjax',
                                       'tex-mml-chtml.js'))


@pytest.fixture(scope='module')
def server(decks):
    with browser_support.serve(SLIDES) as url:
        yield url


PAGE_THROUGH = """async () => {
    for (let i = 0; i < 200 && !(window.Reveal && Reveal.isReady()); i++)
        await new Promise(r => setTimeout(r, 50));
    if (!window.MathJax || !MathJax.startup) return null;
    await MathJax.startup.promise;
    const total = Reveal.getTotalSlides();
    let seen = 1;
    Reveal.slide(0, 0);
    while (!Reveal.isLastSlide() && seen <= total) {
        Reveal.next();
        seen++;
        await new Promise(r => setTimeout(r, 20));
    }
    const imgs = Array.from(document.images);
    await Promise.all(imgs.map(img => img.complete ? null : new Promise(
        r => { img.onload = img.onerror = r; })));
    return {total, seen,
            math: document.querySelectorAll('mjx-container').length,
            errors: document.querySelectorAll('mjx-merror').length,
            broken: imgs.filter(img => !img.naturalWidth)
                        .map(img => (img.getAttribute('src') || '').slice(0, 80)),
            images: imgs.length,
            // textContent: innerText leaves out the slides that are not shown.
            text: document.querySelector('.slides').textContent};
}"""


@pytest.mark.parametrize('name', [section_name(p) for p in NOTEBOOKS
                                  if section_name(p) != 'index'])
def test_deck_pages_through_offline(server, browser, decks, name):
    context = browser.new_context(service_workers='block')
    page = context.new_page()
    outside, errors = [], []

    def route(route):
        if urlsplit(route.request.url).hostname == '127.0.0.1':
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route('**/*', route)
    page.on('websocket', lambda ws: outside.append(ws.url))
    page.on('pageerror', lambda e: errors.append(str(e)))
    try:
        page.goto(server + name + '.html', wait_until='load', timeout=45000)
        deck = page.evaluate(PAGE_THROUGH)
    finally:
        context.close()
    assert deck, f'{name}: MathJax did not start'
    print(f'{name}: {deck["total"]} slides, {deck["math"]} formulas, '
          f'{deck["images"]} images')
    assert not outside, f'{name} tried to load from outside: {outside}'
    assert not errors, f'{name}: JavaScript errors {errors}'
    assert deck['total'] >= MIN_SLIDES
    assert deck['seen'] == deck['total'], 'Reveal.next() skipped slides'
    assert not deck['broken'], f'{name}: broken images {deck["broken"]}'
    html = open(decks[name], encoding='utf-8').read()
    prose = ''.join(re.findall(r'class="[^"]*jp-RenderedMarkdown[^"]*">(.*?)</div>',
                               html, re.S))
    if re.search(r'\$|\\\(', prose):  # the deck has TeX
        assert deck['math'] > 0 and deck['errors'] == 0
    for raw in ('$$', '\\(', '\\[', ':numref:', ':eqref:', ':cite:'):
        assert raw not in deck['text'], f'{name} shows {raw!r}'


# ------------------------------------- no marks where students read

MARKED = re.compile(r'[\[(]\*\*.*?\*\*[\])]', re.S)


def test_downloaded_notebooks_drop_the_marks():
    import build_notebooks
    evaluated = _nb('# T\n\n[**Key idea.**] and (**more**)', 'code:f(**kw)')
    nb = build_notebooks.make_notebook(
        evaluated, 'colab', 'pytorch', build_notebooks.read_config(), None, {})
    assert nb.cells[0].source == '# T\n\nKey idea. and more'
    assert nb.cells[1].source == 'f(**kw)'


def test_no_marks_in_the_built_book_or_notebooks():
    """The HTML book (d2lbook drops the marks on its way to reStructuredText,
    which the PDF shares) and the notebooks to download, where built."""
    build = os.path.join(ROOT, '_build')
    found = []
    for path in glob.glob(os.path.join(build, 'html', '**', '*.html'),
                          recursive=True):
        text = re.sub(r'<pre.*?</pre>', '', open(path, encoding='utf-8')
                      .read(), flags=re.S)  # code may say f(**kwargs)
        found += [path] * bool(MARKED.search(text))
    for folder in ('colab', 'sagemaker'):
        for path in glob.glob(os.path.join(build, folder + '*', '**',
                                           '*.ipynb'), recursive=True):
            nb = nbformat.read(path, as_version=4)
            found += [path for c in nb.cells if c.cell_type == 'markdown'
                      and MARKED.search(c.source)][:1]
    assert not found, found
