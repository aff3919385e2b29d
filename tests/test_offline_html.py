"""The built HTML book reads fully offline and tracks no reader.

1. A static scan of every built page and asset finds no absolute URL that a
   browser would fetch when it loads the book (script src, link href, img src,
   srcset, CSS url() and @import, and URLs in JavaScript such as the Google
   Analytics loader or the copy-button icon). Hyperlinks a reader clicks
   (<a href>) are fine.
2. Headless Chromium opens rendered pages served on 127.0.0.1 with every
   other request aborted and recorded: the math is typeset by MathJax, no
   image is broken, and no outside request was attempted.
3. The sections with interactive explorers show the explorers' output for
   the default values, and no trace of a live widget.

The book is taken from $D2L_HTML_DIR, default _build/html (run `make html`
first; tests/test_book_build.py does, and runs before this file). The
browser tests need Debian's chromium and Python's playwright; without them
they skip, except under CI=true, where they fail.
"""
import os
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

import browser as browser_support

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTML_DIR = os.path.abspath(os.environ.get(
    'D2L_HTML_DIR', os.path.join(ROOT, '_build', 'html')))


@pytest.fixture(scope='module')
def html_dir():
    # Checked when the tests run, not when pytest collects them: under
    # `make test`, tests/test_book_build.py builds the book first.
    if not os.path.isdir(HTML_DIR):
        pytest.skip(f'no built book at {HTML_DIR}: run `make html` first, or '
                    'set D2L_HTML_DIR to a built book')
    return HTML_DIR


# --------------------------------------------------------------------------
# Static scan
# --------------------------------------------------------------------------

# An absolute URL: with a scheme, or protocol-relative.
ABSOLUTE = re.compile(r'^\s*(https?:)?//', re.I)
URL_IN_JS = re.compile(r'https?://[^\s\'"`<>()\\]+')
CSS_COMMENT = re.compile(r'/\*.*?\*/', re.S)
CSS_URL = re.compile(r'url\(\s*([\'"]?)(.*?)\1\s*\)', re.I | re.S)
CSS_IMPORT = re.compile(r'@import\s+([\'"])(.*?)\1', re.I)
# XML namespace names: identifiers that no browser fetches.
NAMESPACE = re.compile(r'http://www\.w3\.org/(2000/svg|1998/Math/MathML|'
                       r'1999/xhtml|1999/xlink|XML/1998/namespace|'
                       r'2000/xmlns/?)$')
# xmlns="URL", xmlns:m="URL" inside a JavaScript string: a namespace name.
XMLNS = re.compile(r'xmlns(:[\w.-]+)?=\\?["\']$')
# <a href="URL"> inside a JavaScript string: a link the reader clicks.
JS_HYPERLINK = re.compile(r'<a\s[^<>]*href=\\?["\']?$', re.I)
# A URL on a comment line: `// see https://...`, ` * https://...`.
JS_COMMENT_LINE = re.compile(r'^\s*(//|/\*|\*)|\s//\s|/\*(?!.*\*/)')
# Third-party URLs inside MathJax that no supported browser fetches. Each is
# a fallback of the speech-rule engine that MathJax bundles:
# * speech-rule-engine@.../lib/mathmaps: SRE's default place for its
#   locale maps. MathJax's a11y/sre component sets window.SREfeature.json to
#   its own [mathjax]/sre/mathmaps before SRE loads a map
#   (test_speech_maps_load_locally shows it does, from _static/mathjax/sre).
# * sre-mathmaps-ie@ and wicked-good-xpath@: loaded only by browsers without
#   document.evaluate (Internet Explorer).
MATHJAX_FALLBACKS = (
    'https://cdn.jsdelivr.net/npm/speech-rule-engine@',
    'https://cdn.jsdelivr.net/npm/sre-mathmaps-ie@',
    'https://cdn.jsdelivr.net/npm/wicked-good-xpath@1.3.0/',
)
# <link rel> values that make a browser fetch nothing.
LINK_NOT_FETCHED = {'canonical', 'alternate', 'author', 'license', 'help',
                    'next', 'prev', 'previous', 'index', 'bookmark', 'external',
                    'nofollow', 'noopener', 'noreferrer', 'tag', 'up', 'first',
                    'last', 'copyright', 'glossary', 'contents', 'start', 'me'}
# Attributes that load what they name, by element.
FETCHING = {
    'script': ('src',), 'img': ('src', 'srcset'), 'iframe': ('src',),
    'frame': ('src',), 'embed': ('src',), 'object': ('data',),
    'source': ('src', 'srcset'), 'track': ('src',), 'audio': ('src',),
    'video': ('src', 'poster'), 'input': ('src',), 'base': ('href',),
    'image': ('href', 'xlink:href'), 'use': ('href', 'xlink:href'),
    'feimage': ('href', 'xlink:href'), 'body': ('background',),
}
# What is scanned. Not: source maps (loaded only while developer tools are
# open), JSON data (MathJax's speech maps; it names no resource to load),
# fonts and images.
SCANNED = ('.html', '.htm', '.css', '.js', '.mjs', '.svg')


def is_outside(url):
    return bool(ABSOLUTE.match(url))


def srcset_urls(value):
    return [part.split()[0] for part in value.split(',') if part.split()]


def css_fetches(css):
    """URLs that a style sheet (or a style="" attribute) loads."""
    css = CSS_COMMENT.sub('', css)
    return ([m.group(2) for m in CSS_URL.finditer(css)]
            + [m.group(2) for m in CSS_IMPORT.finditer(css)])


def js_fetches(js, where=''):
    """Absolute URLs in JavaScript code that a browser may fetch.

    Not counted: XML namespace names, <a href> links inside strings, URLs on
    comment lines (unless quoted right away, as code would have them), and
    the MathJax fallbacks above (in _static/mathjax only)."""
    found = []
    for m in URL_IN_JS.finditer(js):
        url, start = m.group(), m.start()
        before = js[max(0, start - 300):start]
        if NAMESPACE.match(url) or XMLNS.search(before):
            continue
        if JS_HYPERLINK.search(before):
            continue
        quoted = (before[-1:] in ('"', "'", '`', '=')
                  or before[-4:].lower() == 'url(')
        line = before.rsplit('\n', 1)[-1]
        if not quoted and JS_COMMENT_LINE.search(line):
            continue
        if ('_static/mathjax/' in where.replace(os.sep, '/')
                and url.startswith(MATHJAX_FALLBACKS)):
            continue
        found.append(url)
    return found


class PageScanner(HTMLParser):
    """Collect, from HTML or SVG, every URL that loading it fetches."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fetches = []
        self._in = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = {k.lower(): (v or '') for k, v in attrs}
        for name in FETCHING.get(tag, ()):
            if name in attrs:
                value = attrs[name]
                self.fetches += (srcset_urls(value) if name == 'srcset'
                                 else [value])
        if tag == 'link' and 'href' in attrs:
            rels = set(attrs.get('rel', '').lower().split())
            if not rels or not rels <= LINK_NOT_FETCHED:
                self.fetches.append(attrs['href'])
        if 'style' in attrs:
            self.fetches += css_fetches(attrs['style'])
        if tag in ('script', 'style'):
            self._in, self._text = tag, []

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == self._in:
            text = ''.join(self._text)
            self.fetches += (css_fetches(text) if tag == 'style'
                             else js_fetches(text))
            self._in = None


def scan_file(path):
    """(file, url) for each outside URL that the file makes a browser load."""
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    rel = os.path.relpath(path, HTML_DIR)
    if path.endswith(('.html', '.htm', '.svg')):
        scanner = PageScanner()
        scanner.feed(text)
        scanner.close()
        urls = scanner.fetches
    elif path.endswith('.css'):
        urls = css_fetches(text)
    else:
        urls = js_fetches(text, rel)
    return [(rel, url) for url in urls if is_outside(url)]


def built_files():
    for folder, _, files in os.walk(HTML_DIR):
        for name in files:
            if name.endswith(SCANNED):
                yield os.path.join(folder, name)


def test_no_page_or_asset_loads_from_outside(html_dir):
    files = list(built_files())
    assert any(f.endswith('.html') for f in files), f'no pages in {HTML_DIR}'
    outside = [hit for path in files for hit in scan_file(path)]
    assert not outside, ('the built book loads from outside:\n' + '\n'.join(
        f'  {rel}: {url}' for rel, url in outside))


def test_mathjax_is_served_from_the_book(html_dir):
    assert os.path.exists(os.path.join(
        html_dir, '_static', 'mathjax', 'tex-mml-chtml.js')), (
        'MathJax is not in _static/mathjax: see tools/install_mathjax.sh')


# Section -> a line of its explorer's output for the default values.
EXPLORERS = {'sh-intro': 'bracket 4   5 x 81  (405 epochs)',
             'asha-scratch': 'ASHA (stopping), 4 workers, eta = 3, seed 0:'}
# What a live widget leaves on a static page: its placeholder, its text
# repr, its view and its saved state.
WIDGET_TRACES = ('Loading widget', 'interactive(children=',
                 'application/vnd.jupyter.widget', 'jupyter-widgets')


@pytest.mark.parametrize('section', sorted(EXPLORERS))
def test_explorers_show_default_output_and_no_widget(html_dir, section):
    page = os.path.join(html_dir, 'chapter_hyperparameter_optimization',
                        section + '.html')
    html = open(page, encoding='utf-8').read()
    text = unescape(re.sub(r'<[^>]*>', '', html))  # outputs are highlighted
    assert EXPLORERS[section] in text, f'{page}: no output of the explorer'
    assert not [t for t in WIDGET_TRACES if t in html or t in text], page


def test_scanner_catches_what_d2lbook_injects():
    """The scan flags the loaders this book removes, and no hyperlink."""
    ga = ("})(window,document,'script',"
          "'https://www.google-analytics.com/analytics.js','ga');")
    icon = ('`<a class="copybtn"><img src="https://raw.githubusercontent.com/'
            'x/copy-button.svg" alt="copy"></a>`')
    assert js_fetches(ga) == ['https://www.google-analytics.com/analytics.js']
    assert len(js_fetches(icon)) == 1
    assert js_fetches('x=\'<a href="https://www.mathjax.org">M</a>\'') == []
    assert js_fetches('// see https://example.org/docs') == []
    assert js_fetches('e.setAttribute("xmlns","http://www.w3.org/2000/svg")') == []
    page = PageScanner()
    page.feed('<a href="https://d2l.ai">d2l</a>'
              '<link rel="stylesheet" href="//cdn.example/x.css">'
              '<img srcset="a.png 1x, https://cdn.example/b.png 2x">'
              '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/'
              'tex-mml-chtml.js"></script>'
              '<div style="background: url(\'https://cdn.example/c.png\')">')
    assert [u for u in page.fetches if is_outside(u)] == [
        '//cdn.example/x.css', 'https://cdn.example/b.png',
        'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js',
        'https://cdn.example/c.png']
    assert css_fetches('/* url(https://x.org/a) */ @import "https://x.org/b.css";'
                       ' a { background: url(https://x.org/c.png) }') == [
        'https://x.org/c.png', 'https://x.org/b.css']


def _offline_html():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'offline_html', os.path.join(ROOT, 'tools', 'offline_html.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('ga_id', ['', 'UA-12345-1'])
def test_post_step_on_the_d2l_js_that_d2lbook_writes(ga_id):
    """tools/offline_html.py on d2l.js as d2lbook 1.0.3 assembles it: the
    analytics loader goes unless an id is configured, the copy icon and the
    Discourse embed always (by default), and the pages' hooks still exist."""
    from d2lbook import sphinx_template as t
    offline = _offline_html()
    js = (t.shorten_sec_num + t.replace_qr + t.copybutton_js + t.discourse_js
          + t.tabbar_js + t.google_tracker.replace(
              'GOOGLE_ANALYTICS_TRACKING_ID', ga_id))
    fixed, notes = offline.fix_d2l_js(js, ga_id=ga_id)
    assert 'raw.githubusercontent.com' not in fixed
    assert 'data:image/svg+xml;base64,' in fixed
    assert 'javascripts/embed.js' not in fixed
    assert 'var tagClick' in fixed and 'captureOutboundLink' in fixed
    assert 'function discourse_embed' in fixed
    assert ('google-analytics.com' in fixed) == bool(ga_id)
    assert offline.fix_d2l_js(fixed, ga_id=ga_id)[0] == fixed  # idempotent
    kept, _ = offline.fix_d2l_js(js, ga_id=ga_id, discourse=True)
    assert 'javascripts/embed.js' in kept


# --------------------------------------------------------------------------
# Headless Chromium, everything but 127.0.0.1 blocked
# --------------------------------------------------------------------------

def richest_math_page():
    """The page with the most math, figures and code: the richest test of
    MathJax, images and copy buttons."""
    best, best_score = None, -1
    for folder, _, files in os.walk(HTML_DIR):
        if os.path.basename(folder).startswith('_'):
            continue
        for name in files:
            if not name.endswith('.html'):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding='utf-8') as f:
                html = f.read()
            if 'class="math' not in html:
                continue
            score = (html.count('class="math') + 5 * html.count('<img ')
                     + 5 * html.count('class="highlight'))
            if score > best_score:
                best, best_score = path, score
    if best is None:
        pytest.skip('no page with math in this build')
    return os.path.relpath(best, HTML_DIR).replace(os.sep, '/')


@pytest.fixture(scope='module')
def server(html_dir):
    with browser_support.serve(html_dir) as url:
        yield url


@pytest.fixture
def offline_page(browser):
    """A page in a fresh context; every non-127.0.0.1 request is aborted and
    recorded in page.outside, the served ones in page.local."""
    context = browser.new_context(service_workers='block')
    page = context.new_page()
    page.outside, page.local = [], []

    def route(route):
        url = route.request.url
        if urlsplit(url).hostname == '127.0.0.1':
            page.local.append(url)
            route.continue_()
        else:
            page.outside.append(url)
            route.abort()

    context.route('**/*', route)
    # WebSockets bypass HTTP routing; count any attempt as outside.
    page.on('websocket', lambda ws: page.outside.append(ws.url))
    yield page
    context.close()


WAIT_FOR_MATHJAX = """async () => {
    if (!document.querySelector('.math')) return -1;
    for (let i = 0; i < 300 && !(window.MathJax && MathJax.startup
                                 && MathJax.startup.promise); i++)
        await new Promise(r => setTimeout(r, 50));
    if (!(window.MathJax && MathJax.startup)) return -2;
    await MathJax.startup.promise;
    await document.fonts.ready;
    return document.querySelectorAll('mjx-container').length;
}"""
WAIT_FOR_IMAGES = """async () => {
    // The copy buttons are added on DOMContentLoaded; let them appear.
    await new Promise(r => setTimeout(r, 300));
    const imgs = Array.from(document.images);
    await Promise.all(imgs.map(img => img.complete ? null : new Promise(
        r => { img.onload = img.onerror = r; })));
    return imgs.map(img => [img.getAttribute('src').slice(0, 120),
                            img.naturalWidth]);
}"""


@pytest.mark.parametrize('which', ['home page', 'richest math page'])
def test_page_renders_offline(server, offline_page, which):
    page = offline_page
    page_path = 'index.html' if which == 'home page' else richest_math_page()
    page.goto(server + page_path, wait_until='load', timeout=45000)
    math = page.evaluate(WAIT_FOR_MATHJAX)
    images = page.evaluate(WAIT_FOR_IMAGES)
    page.wait_for_timeout(300)  # let late requests (analytics, embeds) start

    assert page.local, 'no request reached the local server'
    assert not page.outside, (f'{page_path} tried to load from outside:\n'
                              + '\n'.join(page.outside))
    if math != -1:  # the page has math
        assert math > 0, f'MathJax did not typeset {page_path} ({math})'
        assert page.locator('mjx-merror').count() == 0
        assert any('/_static/mathjax/' in u for u in page.local)
    broken = [src for src, width in images if width == 0]
    assert not broken, f'broken images on {page_path}: {broken}'
    if page.locator('div.highlight pre').count():
        assert page.locator('a.copybtn img').count() > 0, 'no copy buttons'


SPEECH = """async () => {
    // What the MathJax menu's Accessibility > Explorer does: enrich the math
    // with the speech-rule engine (SRE), which loads its locale maps.
    MathJax.startup.document.menu.menu.pool.lookup('explorer').setValue(true);
    const loaded = () => performance.getEntriesByType('resource')
        .some(e => e.name.includes('/mathmaps/en.json'));
    for (let i = 0; i < 200 && !loaded(); i++)
        await new Promise(r => setTimeout(r, 100));
    await new Promise(r => setTimeout(r, 500));
    await MathJax.typesetPromise();
    const spoken = document.querySelector('mjx-container [data-semantic-speech]');
    return spoken ? spoken.getAttribute('data-semantic-speech') : null;
}"""


def test_speech_maps_load_locally(server, offline_page):
    """MathJax's speech-rule engine loads its maps from _static/mathjax/sre,
    not from the CDN that is its built-in default (MATHJAX_FALLBACKS)."""
    page = offline_page
    page.goto(server + richest_math_page(), wait_until='load', timeout=45000)
    assert page.evaluate(WAIT_FOR_MATHJAX) > 0
    spoken = page.evaluate(SPEECH)
    assert not page.outside, '\n'.join(page.outside)
    assert spoken, 'the explorer did not add speech to the math'
    print(f'speech of the first formula: {spoken!r}')
    assert any('/_static/mathjax/sre/mathmaps/' in u for u in page.local)
