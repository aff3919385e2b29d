"""Headless Chromium for the tests that open the built book, its slides and
its notebooks: a local web server, and Debian's Chromium driven by
Playwright (no browser download). Without them the tests skip, except under
CI=true, where they fail."""
import contextlib
import functools
import http.server
import os
import threading

import pytest

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
# Without the background-networking flags Chromium keeps trying to reach
# Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--no-first-run', '--disable-quic']


def missing(reason):
    """Skip the test; under CI=true, fail it."""
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(reason)
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory):
    """Serve `directory` on 127.0.0.1; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=directory)
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def chromium():
    """Yield a headless Chromium (a Playwright browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing('Python playwright is not installed '
                '(pip install playwright; no browser download needed)')
    if not os.path.exists(CHROMIUM):
        missing(f'{CHROMIUM} is missing (apt-get install -y chromium)')
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
