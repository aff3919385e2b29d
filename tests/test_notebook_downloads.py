"""A reader of the HTML book downloads a section's notebook with a click.

Headless Chromium (Debian's, driven by Playwright, as in
tests/test_offline_html.py) opens each section page of the built book,
served on 127.0.0.1 with every other request aborted, clicks the download
link of the framework tab on display, and gets a notebook that nbformat
validates: the very file that tests/test_colab_notebooks.py runs. Switching
the page to another framework shows that framework's links instead. On the
front page, a click gives the zip of all notebooks of a tab.

The book is $D2L_HTML_DIR, default _build/html (`make html`;
tests/test_book_build.py builds it first). Without Chromium or Playwright
the tests skip, except under CI=true, where they fail.
"""
import os
import zipfile
from urllib.parse import urlsplit

import nbformat
import pytest

import browser as browser_support

from chapter import CHAPTER, NOTEBOOKS, ROOT, section_name

HTML_DIR = os.path.abspath(os.environ.get(
    'D2L_HTML_DIR', os.path.join(ROOT, '_build', 'html')))
CHAPTER_DIR = os.path.basename(CHAPTER)
SECTIONS = [section_name(p) for p in NOTEBOOKS]


@pytest.fixture(scope='module')
def server():
    if not os.path.isdir(os.path.join(HTML_DIR, 'notebooks')):
        browser_support.missing(
            f'no book with notebooks at {HTML_DIR}: run `make html`')
    with browser_support.serve(HTML_DIR) as url:
        yield url


@pytest.fixture
def page(browser):
    """A page that accepts downloads; requests to anywhere but 127.0.0.1
    are aborted and recorded in page.outside."""
    context = browser.new_context(accept_downloads=True,
                                  service_workers='block')
    page = context.new_page()
    page.outside = []

    def route(route):
        if urlsplit(route.request.url).hostname == '127.0.0.1':
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    context.route('**/*', route)
    yield page
    context.close()


def click_download(page, link):
    """Click `link`; return (suggested file name, downloaded bytes)."""
    with page.expect_download(timeout=30000) as info:
        link.click()
    download = info.value
    assert download.failure() is None, download.failure()
    with open(download.path(), 'rb') as f:
        return download.suggested_filename, f.read()


def served(page_path, link):
    """The bytes of the file the link points to, read from the book."""
    href = link.get_attribute('href')
    path = os.path.normpath(os.path.join(
        HTML_DIR, os.path.dirname(page_path), href))
    with open(path, 'rb') as f:
        return f.read()


@pytest.mark.parametrize('section', SECTIONS)
def test_click_downloads_a_valid_notebook(server, page, section):
    page_path = f'{CHAPTER_DIR}/{section}.html'
    page.goto(server + page_path, wait_until='load', timeout=45000)
    tab = page.evaluate("""() => {
        const shown = [...document.querySelectorAll(
            '#d2l-hpo-notebooks a[data-kind="colab"]')].filter(
            a => a.offsetParent !== null);
        return shown.length === 1 ? shown[0].dataset.tab : shown.length;
    }""")
    assert tab == 'pytorch', f'{page_path}: links shown for {tab} tabs'
    link = page.locator('#d2l-hpo-notebooks a[data-tab="pytorch"]'
                        '[data-kind="colab"]')
    name, data = click_download(page, link)
    assert name == f'{section}-pytorch.ipynb'
    assert data == served(page_path, link)
    nb = nbformat.reads(data.decode('utf-8'), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == 'python3'
    assert not page.outside, page.outside


def test_other_tab_shows_its_own_links(server, page):
    """After switching the page to TensorFlow, its links are the ones on
    display, and the SageMaker one downloads a notebook."""
    section = SECTIONS[0]
    page_path = f'{CHAPTER_DIR}/{section}.html'
    page.goto(server + page_path, wait_until='load', timeout=45000)
    page.locator('.mdl-tabs__tab-bar a', has_text='tensorflow').first.click()
    tensorflow = page.locator('#d2l-hpo-notebooks a[data-tab="tensorflow"]'
                              '[data-kind="sagemaker"]')
    pytorch = page.locator('#d2l-hpo-notebooks a[data-tab="pytorch"]'
                           '[data-kind="sagemaker"]')
    assert tensorflow.is_visible() and not pytorch.is_visible()
    name, data = click_download(page, tensorflow)
    assert name == f'{section}-tensorflow-sagemaker.ipynb'
    assert data == served(page_path, tensorflow)
    nbformat.validate(nbformat.reads(data.decode('utf-8'), as_version=4))
    assert not page.outside, page.outside


def test_front_page_gives_the_zips(server, page, tmp_path):
    page.goto(server + 'index.html', wait_until='load', timeout=45000)
    links = page.locator('#d2l-hpo-notebooks a[data-kind="zip"]')
    assert links.count() >= 1
    for i in range(links.count()):
        link = links.nth(i)
        assert link.is_visible()
        name, data = click_download(page, link)
        assert name == f'd2l-hpo-notebooks-{link.get_attribute("data-tab")}' \
            '.zip'
        path = tmp_path / name
        path.write_bytes(data)
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
            notebooks = [n for n in z.namelist() if n.endswith('.ipynb')]
            for member in notebooks:
                nbformat.validate(nbformat.reads(z.read(member).decode(),
                                                 as_version=4))
            assert any(f'/colab/{CHAPTER_DIR}/' in n for n in notebooks)
            assert any(f'/sagemaker/{CHAPTER_DIR}/' in n for n in notebooks)
    assert not page.outside, page.outside
