"""`make pdf` builds the chapter as a PDF from the evaluated notebooks of the
PyTorch tab, and the PDF is complete: every section title, every figure
(the chapter's diagrams and every plot the notebooks drew), the equations,
resolved cross-references and citations, the bibliography, every character
of the outputs in a font, and no line of code or output running into the
margin.

The end-to-end tests run `make pdf` once (a module fixture) after
tests/test_book_build.py (see conftest.py), when the notebooks are already
evaluated, so that `make pdf` only renders them. They read the PDF with
pypdf (pinned in static/requirements-pytorch.txt) and LaTeX's log. Without
XeLaTeX and the rest of the Debian packages that README.md lists (or
without pypdf) they skip, except under CI=true, where they fail.
"""
import glob
import json
import os
import re
import sys

import pytest

from chapter import CHAPTER, ROOT, SECTIONS, run_make, section_name

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import build_pdf  # noqa: E402

PDF_DIR = os.path.join(ROOT, '_build', 'pdf')
PDF = os.path.join(PDF_DIR, 'd2l-hpo.pdf')
TEX_LOG = os.path.join(PDF_DIR, 'd2l-hpo.log')
EVAL = os.path.join(ROOT, '_build', 'eval')
MAKE_LOG = os.path.join(ROOT, '_build', 'make_pdf.log')
# A line wider than the text by more than this runs visibly into the margin.
OVERFULL_POINTS = 2.0


def _missing(reason):
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(reason)
    pytest.skip(reason)


def _norm(text):
    """Text compared without whitespace or hyphens (line breaks and
    hyphenation differ between the PDF and the source) and with LaTeX's
    typographic quotes as plain ones."""
    text = text.translate({0x2019: "'", 0x2018: "'", 0x201c: '"',
                           0x201d: '"', 0x2010: '-', 0x2013: '-'})
    return re.sub(r'[\s\-]+', '', text)


# d2lbook's slide marks, which the book drops: [** ... **] and (** ... **)
SLIDE_MARK = re.compile(r'\[\*\*|\*\*\]|\(\*\*|\*\*\)')


def _prose(path):
    """A Markdown source without its code cells, fenced blocks and slide
    marks, as the book shows it."""
    text = re.sub(r'^```.*?^```', '', open(path, encoding='utf-8').read(),
                  flags=re.S | re.M)
    return SLIDE_MARK.sub('', text)


def _section_order():
    """The chapter's sections in the order of its table of contents."""
    index = open(os.path.join(CHAPTER, 'index.md'), encoding='utf-8').read()
    toc = re.search(r'^```toc\n(.*?)^```', index, re.S | re.M)
    names = [line.strip() for line in toc.group(1).splitlines()
             if line.strip() and not line.startswith(':')]
    return [os.path.join(CHAPTER, name + '.md') for name in names]


def expected_titles():
    """(numbered title, source) for the chapter's sections and subsections,
    as the PDF numbers them (1.k, 1.k.j); subsubsections are unnumbered."""
    titles = [('1 Hyperparameter Optimization', 'index.md')]
    for k, path in enumerate(_section_order(), 1):
        j = 0
        for level, title in re.findall(r'^(#{1,3}) (.+)$', _prose(path),
                                       re.M):
            if level == '#':
                titles.append((f'1.{k} {title}', path))
            elif level == '##':
                j += 1
                titles.append((f'1.{k}.{j} {title}', path))
            else:
                titles.append((title, path))
    return titles


def expected_figures():
    """The chapter's figures: (caption, source) of each Markdown image, and
    the number of images among the outputs of the evaluated notebooks."""
    captions = []
    for path in SECTIONS:
        for caption in re.findall(r'^!\[(.*?)\]\((.*?)\)', _prose(path),
                                  re.M):
            captions.append((caption[0], path))
    plots = 0
    for path in glob.glob(os.path.join(EVAL, '**', '*.ipynb'),
                          recursive=True):
        for cell in json.load(open(path, encoding='utf-8'))['cells']:
            for out in cell.get('outputs', []):
                if any(k.startswith('image/') for k in out.get('data', {})):
                    plots += 1
    return captions, plots


def cited_keys():
    keys = set()
    for path in SECTIONS:
        for group in re.findall(r':cite[tp]?:`([^`]+)`', _prose(path)):
            keys.update(k.strip() for k in group.split(','))
    return sorted(keys)


# ---------------------------------------------------- without LaTeX: units

def test_emoji_preamble_maps_every_pictograph_found(tmp_path):
    (tmp_path / 'a.rst').write_text('Results saved \U0001f4be ok \u2728\n'
                                    'box \u2501\u2501 and \u03b7\n',
                                    encoding='utf-8')
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'b.rst').write_text('\U0001f680 done\n',
                                            encoding='utf-8')
    (tmp_path / 'c.txt').write_text('\U0001f389 not a page\n',
                                    encoding='utf-8')
    preamble = build_pdf.emoji_preamble(str(tmp_path))
    assert preamble.startswith('\\usepackage{newunicodechar}\n')
    for c in ('\U0001f4be', '\u2728', '\U0001f680'):
        assert f'\\newunicodechar{{{c}}}{{{{\\dtwolemoji {c}}}}}' in preamble
    # Box drawing and Greek are in DejaVu Sans Mono and Latin Modern.
    assert '\u2501' not in preamble and '\u03b7' not in preamble
    assert '\U0001f389' not in preamble  # only .rst files are read
    assert '\\newunicodechar{\ufe0f}{}' in preamble


def test_pdf_settings_in_config_ini_are_python():
    """config.ini [pdf] sphinx_configs is appended to Sphinx's conf.py: it
    must read (no % interpolation) and compile, and it sets the fonts."""
    from d2lbook import config as d2lbook_config
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = d2lbook_config.Config().pdf['sphinx_configs']
    finally:
        os.chdir(cwd)
    compile(code, 'config.ini [pdf] sphinx_configs', 'exec')
    assert 'DejaVu Sans Mono' in code and '\\dtwolemoji{Symbola}' in code
    assert 'verbatimforcewraps=true' in code


def test_latex_errors_are_found():
    log = ('This is XeTeX\n! Undefined control sequence.\nl.12 \\foo\n\n'
           'ok\n! Package fontspec Error: The font "X" cannot be found.\n')
    errors = build_pdf.latex_errors(log)
    assert len(errors) == 2 and 'Undefined control sequence' in errors[0]


def test_expected_titles_follow_the_table_of_contents():
    titles = [t for t, _ in expected_titles()]
    assert titles[1] == '1.1 What Is Hyperparameter Optimization?'
    assert '1.1.2 Configuration Spaces' in titles
    assert 'Why Not the Test Set?' in titles


# ---------------------------------------------- the PDF, built by make pdf

@pytest.fixture(scope='module')
def book():
    missing = build_pdf.missing_requirements()
    if missing:
        _missing('the PDF needs ' + ', '.join(
            f'{what} (Debian: {package})' for what, package in missing)
            + '; README.md, "The PDF", lists the packages')
    try:
        from pypdf import PdfReader
    except ImportError:
        _missing('pypdf is not installed (static/requirements-pytorch.txt '
                 'pins it; make setup)')
    run_make('pdf', MAKE_LOG)
    reader = PdfReader(PDF)
    pages = [page.extract_text() for page in reader.pages]
    return {'reader': reader, 'pages': pages, 'text': '\n'.join(pages),
            'log': open(TEX_LOG, encoding='utf-8', errors='replace').read()}


def test_pdf_has_pages(book):
    assert len(book['reader'].pages) > 50
    assert 'Hyperparameter Optimization' in book['pages'][0]


TITLES = expected_titles()


@pytest.mark.parametrize('title,path', TITLES, ids=[t for t, _ in TITLES])
def test_every_section_title(book, title, path):
    assert _norm(title) in _norm(book['text']), (
        f'{title!r} (from {section_name(path)}) is not in the PDF')


def test_every_figure(book):
    captions, plots = expected_figures()
    assert captions and plots
    text = _norm(book['text'])
    for caption, path in captions:
        # The caption up to its first math or code, after "Fig. 1.k.n:".
        start = re.sub(r'[*_]', '', re.split(r'[$`]', caption)[0])[:60]
        assert re.search(r'Fig\.1\.\d\.\d:' + re.escape(_norm(start)),
                         text), (section_name(path), caption)
    # Every figure is drawn as a PDF (rsvg-convert made it from the SVG)
    # that the pages include: one form XObject each.
    forms = set()
    for page in book['reader'].pages:
        resources = page.get('/Resources')
        xobjects = resources.get_object().get('/XObject') if resources \
            else None
        for ref in (xobjects.get_object().values() if xobjects else ()):
            if ref.get_object().get('/Subtype') in ('/Form', '/Image'):
                forms.add(ref.idnum)
    assert len(forms) == len(captions) + plots, (
        f'{len(forms)} figures in the PDF, expected {len(captions)} diagrams '
        f'and {plots} plots from the notebooks in _build/eval')


def test_equations_are_typeset(book):
    fonts = set()
    for page in book['reader'].pages:
        resources = page.get('/Resources')
        fonts_here = resources.get_object().get('/Font') if resources else None
        for ref in (fonts_here.get_object().values() if fonts_here else ()):
            fonts.add(str(ref.get_object().get('/BaseFont')))
    assert any('CMMI' in f for f in fonts), 'no math italic font'
    assert any('CMEX' in f for f in fonts), 'no math extension font'
    # Display equations are numbered per section, e.g. (1.4.1), and
    # :eqref: refers to them by that number.
    numbers = set(re.findall(r'\(1\.\d\.\d+\)', book['text']))
    labels = sum(len(re.findall(r':eqlabel:', _prose(p))) for p in SECTIONS)
    assert len(numbers) >= labels > 0
    assert '\\frac' not in book['text'] and '\\mathbf' not in book['text']


def test_references_section(book):
    from pybtex.database import parse_file
    bib = parse_file(os.path.join(ROOT, 'references.bib'))
    pages = book['pages']
    # The page that starts with the heading (the table of contents and the
    # page footers name it too).
    first = [i for i, page in enumerate(pages)
             if i > len(pages) // 2 and page.lstrip().startswith(
                 'Bibliography')]
    assert first, 'no Bibliography at the end of the PDF'
    references = _norm('\n'.join(pages[first[0]:]))
    body = _norm('\n'.join(pages[:first[0]]))
    for key in cited_keys():
        entry = bib.entries[key]
        surname = ' '.join(entry.persons['author'][0].last_names)
        surname = re.sub(r'[{}]', '', surname)
        year = entry.fields['year']
        assert _norm(f'{surname},') in references, (key, surname)
        assert f'({year}' in references, (key, year)
        # ... and the text cites it as (Surname ..., year).
        assert re.search(re.escape(_norm(surname)) + r'.{0,40}' + year,
                         body), (key, surname, year)


def test_no_unresolved_reference(book):
    text = book['text']
    assert '??' not in text
    # natbib's marks for an unknown citation, raw roles left over.
    assert not re.search(r'\(\?[,)]|\[\?\]', text)
    for role in (':numref:', ':eqref:', ':cite:', ':citet:', ':label:',
                 ':ref:', ':eqlabel:'):
        assert role not in text, role
    undefined = re.findall(r'LaTeX Warning: (?:Reference|Citation|Hyper '
                           r'reference) .* undefined.*', book['log'])
    assert not undefined, undefined[:5]
    assert 'There were undefined references' not in book['log']


def test_every_character_has_a_glyph(book):
    """XeLaTeX drops a character that its font lacks, with only a log line
    (Syne Tune prints box drawings and emoji)."""
    missing = re.findall(r'Missing character: There is no .*', book['log'])
    assert not missing, sorted(set(missing))[:10]
    assert '\u2501' in book['text']  # Syne Tune's rules


def test_nothing_runs_off_the_page(book):
    """No line of prose, code or output is wider than the text by more
    than OVERFULL_POINTS (long code and output lines wrap)."""
    too_wide = []
    for match in re.finditer(r'Overfull \\hbox \(([\d.]+)pt too wide\)'
                             r'(.*)\n(.*)', book['log']):
        if float(match.group(1)) > OVERFULL_POINTS:
            too_wide.append(match.group(0))
    assert not too_wide, '\n'.join(too_wide[:5])
