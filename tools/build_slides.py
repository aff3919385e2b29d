"""Build the lecture slides: one reveal.js deck per section.

    python tools/build_slides.py            # `make slides`, every section
    python tools/build_slides.py sh-intro   # one section

A deck shows what the section's Markdown marks for slides, in d2lbook's
syntax: `[**text**]` starts a new slide with the text, `(**text**)` adds the
text to the current slide (d2lbook's `d2lbook build slides` reads the same
marks; the HTML book, the PDF and the notebooks to download drop them). Mark
key sentences, equations (`(**$$...$$**)`) and figures (`[**![...](...)**]`).

Code comes from the evaluated notebooks of the pytorch tab (_build/eval,
which `make slides` brings up to date first), with its outputs. A section
has more code than a lecture needs, so a deck keeps only the code cells that
follow a marked paragraph: a code cell is on a slide when the last paragraph
before it has a mark (and so is the code cell right after it, with no prose
in between). The rest follows d2lbook's own slide maker
(d2lbook.slides._generate_slides): comments are dropped, code cells without
output are merged with the next one.

The prose is read from the Markdown source rather than from the evaluated
notebook, processed as d2lbook's evaluation processes it: marks are prose
only, so a change of marks does not need the notebook evaluated again. If
the code of a source differs from its evaluated notebook, the build stops.

Output: _build/slides/<section>.html, and next to the decks everything they
load: reveal.js/ (the pinned npm package, tools/install_revealjs.sh),
mathjax/ (the book's pinned MathJax, tools/install_mathjax.sh) and img/.
No deck loads anything from outside this folder; it works opened from disk
or served.
"""
import argparse
import glob
import os
import re
import shutil
import sys
import time

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAPTER = 'chapter_hyperparameter_optimization'
TAB = 'pytorch'
OUT = os.path.join(ROOT, '_build', 'slides')
REVEAL = os.path.join(ROOT, '.venv', 'revealjs', 'node_modules', 'reveal.js')
MATHJAX = os.path.join(os.environ.get(
    'D2L_MATHJAX_STATIC', os.path.join(ROOT, '.venv', 'mathjax', 'static')),
    'mathjax')
TEMPLATE_DIR = os.path.join(ROOT, 'static', 'slides')
MARK = re.compile(r'\[\*\*|\(\*\*')
IMAGE = re.compile(r'\]\(\.\./img/')
# d2lbook's roles mean nothing on a slide; a citation is dropped.
CITE = re.compile(r'\s*:cite:`[^`]*`')
# What a browser fetches by itself (an <a href> is only followed on a click).
FETCHED_URL = re.compile(
    r'''<(?:script|link|img|iframe|source)\b[^>]*?\s(?:src|href)=["']?'''
    r'''(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import\s+["']?'''
    r'''(?:https?:)?//|\bimport\s[^;]*?\sfrom\s+["'](?:https?:)?//''', re.I)


def read_source(source, config):
    """The pytorch tab of a Markdown source as d2lbook's evaluation
    prepares it (build._process_and_eval_notebook), without running it."""
    from d2lbook import library, notebook
    with open(source, encoding='utf-8') as f:
        nb = notebook.read_markdown(f.read())
    nb = notebook.split_markdown_cell(nb)
    nb = notebook.get_tab_notebook(nb, TAB, config.default_tab)
    if TAB in config.library:
        nb = library.replace_alias(nb, config.library[TAB])
    return library.format_code_nb(nb)


def with_outputs(nb, evaluated, name):
    """nb's cells, each code cell with the outputs of the evaluated one."""
    code = [c for c in nb.cells if c.cell_type == 'code']
    done = [c for c in evaluated.cells if c.cell_type == 'code']
    if [c.source for c in code] != [c.source for c in done]:
        raise SystemExit(
            f'build_slides: the code of {name} differs from its evaluated '
            f'notebook; evaluate it first (python tools/evaluate_notebooks.py '
            f'--tab {TAB}, or make slides)')
    for cell, result in zip(code, done):
        cell.outputs = result.outputs
        cell.execution_count = result.get('execution_count')
    return nb


def last_paragraph(text):
    paragraphs = [p for p in re.split(r'\n\s*\n', text) if p.strip()]
    return paragraphs[-1] if paragraphs else ''


def select_code(nb):
    """Keep the code cells that follow a marked paragraph (see above)."""
    cells, keep = [], False
    for cell in nb.cells:
        if cell.cell_type == 'markdown':
            if cell.source.strip():
                keep = bool(MARK.search(last_paragraph(cell.source)))
            cells.append(cell)
        elif keep:
            cells.append(cell)
    nb.cells = cells
    return nb


HEADING = re.compile(r'^#{2,3} ', re.M)


def split_paragraphs(nb):
    """One markdown cell per paragraph, so that a slide starts exactly at
    its `[**` mark and marked paragraphs stay paragraphs (d2lbook makes one
    slide of each cell and joins its marked texts with a line break). A
    heading (## or ###) starts the slide of the first marked paragraph of
    its subsection."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != 'markdown':
            cells.append(cell)
            continue
        chunks = []
        for part in re.split(r'\n\s*\n', cell.source):
            if not part.strip():
                continue
            if chunks and chunks[-1].count('$$') % 2:
                chunks[-1] += '\n\n' + part  # a blank line inside $$..$$
            else:
                chunks.append(part)
        heading = None
        for i, chunk in enumerate(chunks):
            if HEADING.match(chunk):
                heading = i
            if heading is not None and MARK.search(chunk):
                title = chunks[heading].partition('\n')[0]
                chunks[i] = f'[**{title}**]\n{chunk}'
                heading = None
        cells += [nbformat.v4.new_markdown_cell(c) for c in chunks]
    nb.cells = cells
    return nb


def slide_notebook(nb):
    """d2lbook's slides from the marks, with local images and no roles."""
    from d2lbook.slides import _generate_slides
    slides = _generate_slides(select_code(split_paragraphs(nb)))
    if slides is None:
        return None
    for cell in slides.cells:
        if cell.cell_type == 'markdown':
            cell.source = IMAGE.sub('](img/', CITE.sub('', cell.source))
    slides.metadata.pop('widgets', None)
    return slides


def exporter():
    from nbconvert import SlidesExporter
    from traitlets.config import Config
    c = Config()
    c.SlidesExporter.reveal_url_prefix = 'reveal.js'
    c.SlidesExporter.reveal_theme = 'white'
    c.SlidesExporter.reveal_scroll = True  # long code and outputs scroll
    c.SlidesExporter.reveal_number = 'c/t'
    c.SlidesExporter.mathjax_url = 'mathjax/tex-mml-chtml.js'
    c.SlidesExporter.exclude_input_prompt = True
    c.SlidesExporter.exclude_output_prompt = True
    # Our template: nbconvert's reveal template, but with MathJax 3 and
    # reveal.js from the folder of the deck, and no jQuery, require.js or
    # mermaid (each a CDN URL in nbconvert's defaults).
    return SlidesExporter(config=c, template_file='d2l_slides.html.j2',
                          extra_template_paths=[TEMPLATE_DIR])


def stage_assets(out):
    """Copy what the decks load next to them."""
    for path, hint in ((REVEAL, 'make slides (tools/install_revealjs.sh)'),
                       (MATHJAX, 'make mathjax (tools/install_mathjax.sh)')):
        if not os.path.isdir(path):
            raise SystemExit(f'build_slides: {path} is missing; run {hint}')
    reveal = os.path.join(out, 'reveal.js')
    shutil.rmtree(reveal, ignore_errors=True)
    for part in ('dist/reveal.js', 'dist/reveal.css', 'dist/theme/white.css',
                 'dist/theme/fonts/source-sans-pro', 'plugin/notes/notes.js',
                 'LICENSE'):
        src, dst = os.path.join(REVEAL, part), os.path.join(reveal, part)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, dst)
    shutil.rmtree(os.path.join(out, 'mathjax'), ignore_errors=True)
    shutil.copytree(MATHJAX, os.path.join(out, 'mathjax'))


def build(sections=None, out=OUT):
    """Write the decks; return {section: number of slides}."""
    from d2lbook import config as d2lbook_config
    cwd = os.getcwd()
    os.chdir(ROOT)  # d2lbook reads config.ini from the working folder
    try:
        config = d2lbook_config.Config(tab=TAB)
    finally:
        os.chdir(cwd)
    sources = sorted(glob.glob(os.path.join(ROOT, CHAPTER, '*.md')))
    if sections:
        sources = [s for s in sources
                   if os.path.basename(s)[:-3] in sections]
    os.makedirs(out, exist_ok=True)
    stage_assets(out)
    export, counts = exporter(), {}
    for source in sources:
        name = os.path.basename(source)[:-3]
        evaluated = os.path.join(ROOT, config.eval_dir, CHAPTER,
                                 name + '.ipynb')
        nb = read_source(source, config)
        if not MARK.search(''.join(c.source for c in nb.cells
                                   if c.cell_type == 'markdown')):
            continue  # no slide marks (the chapter's index page)
        if not os.path.exists(evaluated):
            raise SystemExit(f'build_slides: {evaluated} is missing; '
                             f'evaluate it first (make slides does)')
        nb = with_outputs(nb, nbformat.read(evaluated, as_version=4), name)
        slides = slide_notebook(nb)
        for image in re.findall(r'\]\(img/([^)\s]+)\)', ''.join(
                c.source for c in slides.cells if c.cell_type == 'markdown')):
            os.makedirs(os.path.join(out, 'img'), exist_ok=True)
            shutil.copy(os.path.join(ROOT, 'img', image),
                        os.path.join(out, 'img', image))
        html, _ = export.from_notebook_node(
            slides, resources={'metadata': {'name': name}})
        outside = [m.group(0) for m in FETCHED_URL.finditer(html)]
        if outside:
            raise SystemExit(f'build_slides: {name} would load from outside: '
                             f'{outside[:5]}')
        with open(os.path.join(out, name + '.html'), 'w',
                  encoding='utf-8') as f:
            f.write(html)
        counts[name] = sum(c.metadata.get('slideshow', {}).get(
            'slide_type') == 'slide' or i == 0
            for i, c in enumerate(slides.cells))
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('sections', nargs='*',
                        help='section names (default: every section)')
    args = parser.parse_args()
    start = time.time()
    counts = build(args.sections)
    for name, n in counts.items():
        print(f'_build/slides/{name}.html: {n} slides')
    print(f'{len(counts)} decks in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
