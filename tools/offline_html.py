"""Post-build step of `make html`: the HTML book loads nothing from outside.

d2lbook 1.0.3 writes `_static/d2l.js` itself, from fixed templates, and no
configuration key changes what this script changes in it:

* Google Analytics: d2lbook appends the GA loader whenever the key
  `google_analytics_tracking_id` exists in [deploy] -- and its defaults always
  define it, empty. Unless config.ini sets a non-empty id, the loader is
  replaced by no-op stand-ins for the two functions that d2lbook's pages call
  (`tagClick` on the framework tabs, `captureOutboundLink` on Colab buttons).
* Copy button: its icon is an <img> pointing at raw.githubusercontent.com.
  It becomes a data: URI of the book's own icon, static/copy-button.svg.
* Discourse comments: a heading "Discuss..." linking to a Discourse topic
  makes d2l.js load the forum's embed.js. Off unless [deploy]
  discourse_embed = true; the heading stays a plain link.

MathJax needs no change here: config.ini's [build] sphinx_configs serves it
from _static/mathjax (see tools/install_mathjax.sh). This script only checks
that the pages' MathJax is there and local.

Usage: python tools/offline_html.py [HTML_DIR] [--config config.ini]
HTML_DIR defaults to _build/html. Running it twice changes nothing more.
"""
import argparse
import base64
import configparser
import glob
import os
import re
import sys

from d2lbook import sphinx_template as template

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ICON = os.path.join(ROOT, 'static', 'copy-button.svg')

GA_OFF = """
// Analytics are off: config.ini [deploy] google_analytics_tracking_id is
// empty (tools/offline_html.py). d2lbook's pages still call these two.
var captureOutboundLink = function(url) { document.location = url; };
var tagClick = function(tab) {};
"""
DISCOURSE_OFF = """
// Discourse comments are not embedded: config.ini [deploy] discourse_embed
// is not true (tools/offline_html.py). "Discussions" stays a plain link.
function discourse_embed() {}
"""
# The copy button's <img src="..."> in d2lbook's copybutton_js.
COPY_ICON_SRC = re.compile(r'(<img src=")https?://[^"]*copy-button\.svg(")')
# Anything left in d2l.js that a browser would fetch from outside.
OUTSIDE = re.compile(r'https?://[^\s\'"`<>)]+')
MATHJAX_LOCAL = '_static/mathjax/tex-mml-chtml.js'


def read_config(path):
    config = configparser.ConfigParser(interpolation=None)
    config.read(path, encoding='utf-8')
    deploy = config['deploy'] if config.has_section('deploy') else {}
    ga_id = deploy.get('google_analytics_tracking_id', '').strip()
    discourse = deploy.get('discourse_embed', '').strip().lower() in (
        'true', 'yes', '1', 'on')
    return ga_id, discourse


def icon_data_uri(path=ICON):
    with open(path, 'rb') as f:
        return 'data:image/svg+xml;base64,' + base64.b64encode(f.read()).decode()


def fix_d2l_js(js, ga_id='', discourse=False, icon_uri=None):
    """Return d2l.js without outside requests; `notes` says what changed."""
    notes = []
    if not ga_id:
        loader = template.google_tracker.replace(
            'GOOGLE_ANALYTICS_TRACKING_ID', '')
        if loader in js:
            js = js.replace(loader, GA_OFF)
            notes.append('removed the Google Analytics loader')
    if not discourse:
        if template.replace_qr in js:
            js = js.replace(template.replace_qr, '\n')
            notes.append('removed the Discourse embed on "Discuss" headings')
        if template.discourse_js in js:
            js = js.replace(template.discourse_js, DISCOURSE_OFF)
            notes.append('removed the Discourse embed on "Discussions" links')
    icon_uri = icon_uri or icon_data_uri()
    js, n = COPY_ICON_SRC.subn(lambda m: m.group(1) + icon_uri + m.group(2), js)
    if n:
        notes.append('copy-button icon -> static/copy-button.svg (data: URI)')
    return js, notes


def check_mathjax(html_dir):
    """Pages that load MathJax load the local copy, and it is there."""
    problems = []
    uses_local = False
    for page in glob.glob(os.path.join(html_dir, '**', '*.html'),
                          recursive=True):
        with open(page, encoding='utf-8') as f:
            html = f.read()
        for src in re.findall(r'<script[^>]*\ssrc="([^"]*)"', html):
            if 'mathjax' in src.lower() or 'tex-mml' in src:
                if re.match(r'(https?:)?//', src):
                    problems.append(f'{os.path.relpath(page, html_dir)} loads '
                                    f'MathJax from {src}')
                else:
                    uses_local = True
    if uses_local and not os.path.exists(os.path.join(html_dir, MATHJAX_LOCAL)):
        problems.append(f'{MATHJAX_LOCAL} is missing: run tools/install_mathjax.sh '
                        '(make html does) before d2lbook build html')
    if problems:
        problems.append("config.ini [build] sphinx_configs must set "
                        "mathjax_path = 'mathjax/tex-mml-chtml.js' and add the "
                        "staged MathJax to html_static_path")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('html_dir', nargs='?',
                        default=os.path.join('_build', 'html'))
    parser.add_argument('--config', default='config.ini')
    args = parser.parse_args(argv)

    ga_id, discourse = read_config(args.config)
    d2l_js = os.path.join(args.html_dir, '_static', 'd2l.js')
    if not os.path.exists(d2l_js):
        sys.exit(f'offline_html: {d2l_js} not found; build the book first')
    with open(d2l_js, encoding='utf-8') as f:
        js, notes = fix_d2l_js(f.read(), ga_id, discourse)
    with open(d2l_js, 'w', encoding='utf-8') as f:
        f.write(js)
    for note in notes:
        print(f'offline_html: d2l.js: {note}')

    allowed = set()
    if ga_id:
        allowed.add('https://www.google-analytics.com/analytics.js')
        print(f'offline_html: Google Analytics is ON (tracking id {ga_id})')
    problems = [f'_static/d2l.js still loads {url}'
                for url in OUTSIDE.findall(js) if url not in allowed]
    problems += check_mathjax(args.html_dir)
    if problems:
        sys.exit('offline_html: the book would load from outside:\n  '
                 + '\n  '.join(problems))
    print(f'offline_html: {args.html_dir} loads nothing from outside')


if __name__ == '__main__':
    main()
