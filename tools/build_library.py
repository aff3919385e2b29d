"""Regenerate the library files d2l/*.py from the chapter's ``#@save`` cells.

    python tools/build_library.py          # rewrite the generated parts
    python tools/build_library.py --check  # exit 1 if a file is out of date

``d2lbook build lib`` copies a cell marked ``#@tab all`` into the library
file of every framework, so framework-free code would exist three times.
This script uses d2lbook's own block extraction, but routes the cells:

- ``#@tab all`` cells go to d2l/hpo.py, which every framework file imports;
- cells of one framework (``#@tab pytorch`` or untagged) go to that
  framework's ``lib_file`` from config.ini.

Everything above d2lbook's generated-code header in a library file is written
by hand and kept as it is.
"""
import argparse
import configparser
import os
import re
import sys

from d2lbook import library, notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMEWORK_FREE_FILE = 'd2l/hpo.py'


def chapter_notebooks(config):
    """The Markdown files in the order of the book's table of contents."""
    index = os.path.join(ROOT, config['build'].get('index', 'index') + '.md')
    return notebook.get_toc(index)


def saved_blocks(notebooks, tab, default_tab):
    """[block, section label, file] for each ``#@save`` cell of `tab`
    (exactly the ``all`` cells when `tab` is 'all')."""
    saved = []
    for path in notebooks:
        with open(path, encoding='utf-8') as f:
            nb = notebook.read_markdown(f.read())
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != 'code':
                continue
            cell_tabs = notebook.get_cell_tab(cell, default_tab)
            if tab == 'all':
                selected = cell_tabs == ['all']
            else:
                selected = tab in cell_tabs and cell_tabs != ['all']
            if not selected:
                continue
            block = library._save_block(cell.source, '@save')
            if block:
                label = library._find_latest_label(nb.cells[:i - 1])
                saved.append([block, label, path])
    return saved


def hand_written_part(path):
    """The lines above the generated-code header, which must exist."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    marker = library.HEADER.strip()
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() == marker:
            return ''.join(lines[:i])
    raise ValueError(f'{path} has no generated-code header line {marker!r}; '
                     'add it below the hand-written code')


# d2lbook adds its "Defined in" line as a docstring of its own in front of a
# docstring that spans several lines, which leaves the real docstring a dead
# string (help() shows only the "Defined in" line). Merge the two.
SPLIT_DOCSTRING = re.compile(
    r'^( *)"""(Defined in :numref:`[^`]*`)"""\n\1(""".*?)"""',
    re.MULTILINE | re.DOTALL)


def merge_docstrings(text):
    return SPLIT_DOCSTRING.sub(r'\1\3\n\n\1\2"""', text)


def library_text(path, blocks):
    import io
    out = io.StringIO()
    out.write(hand_written_part(path))
    library._write_header(out)
    out.write(merge_docstrings(library._refactor_blocks(blocks)))
    text = out.getvalue()
    return text if text.endswith('\n') else text + '\n'


def library_files(config):
    """{library file: tab} for the framework-free file and each framework."""
    tabs = [t.strip() for t in config['build']['tabs'].split(',')]
    files = {FRAMEWORK_FREE_FILE: 'all'}
    for tab in tabs:
        section = f'library-{tab}'
        if section in config and os.path.exists(
                os.path.join(ROOT, config[section]['lib_file'])):
            files[config[section]['lib_file']] = tab
    return files, tabs[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true',
                        help='only report files that are out of date')
    args = parser.parse_args()
    os.chdir(ROOT)
    config = configparser.ConfigParser()
    config.read('config.ini')
    notebooks = [os.path.relpath(p, ROOT) for p in chapter_notebooks(config)]
    files, default_tab = library_files(config)
    stale = []
    for path, tab in files.items():
        blocks = saved_blocks(notebooks, tab, default_tab)
        text = library_text(path, blocks)
        with open(path, encoding='utf-8') as f:
            current = f.read()
        if current == text:
            print(f'{path}: up to date ({len(blocks)} blocks)')
            continue
        if args.check:
            stale.append(path)
            print(f'{path}: OUT OF DATE with the chapter sources')
        else:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)
            print(f'{path}: wrote {len(blocks)} blocks')
    if stale:
        print('Run `make lib` to regenerate them.', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
