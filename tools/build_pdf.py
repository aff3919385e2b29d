"""Build the PDF of the book from the evaluated notebooks of one tab.

    python tools/build_pdf.py          # pytorch tab: _build/pdf/d2l-hpo.pdf
    python tools/build_pdf.py --check  # only: are XeLaTeX & co. installed?

`make pdf` checks the system packages (--check), runs
tools/evaluate_notebooks.py (only outdated notebooks, as `make html` does)
and then this. It does what `d2lbook build pdf` does, with three
differences:

- it never evaluates a notebook: d2lbook's `rst` stage would run its own
  evaluation of any outdated notebook (with its GPU guess, two at a time);
  here an outdated notebook is an error that names `make pdf`;
- the LaTeX settings in config.ini's [pdf] `sphinx_configs` (fonts for the
  Unicode in the outputs, code that wraps) are appended to the conf.py that
  d2lbook writes, after its own and after [build] `sphinx_configs`, and so
  is a font switch for each emoji in the book (emoji_preamble);
- LaTeX runs in batch mode, its log goes to _build/pdf/latex.log, and a
  failure prints the log's errors instead of stopping at an interactive
  prompt.

The intermediate reStructuredText of the pytorch tab goes to _build/rst
(the HTML book with tab switching uses _build/rst_all).
"""
import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import time

from d2lbook import build, config as d2lbook_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What the PDF needs from the system, and the Debian package that has it
# (.ci/run installs these; README.md, "The PDF").
COMMANDS = (('xelatex', 'texlive-xetex'), ('latexmk', 'latexmk'),
            ('rsvg-convert', 'librsvg2-bin'))
TEX_FILES = (('pzdr.tfm', 'texlive-fonts-recommended'),)  # hyperref + XeTeX
FONTS = (('DejaVu Sans Mono:style=Book', 'fonts-dejavu-core'),
         ('DejaVu Sans Mono:style=Oblique', 'fonts-dejavu-extra'),
         ('Symbola', 'fonts-symbola'))
# Pictographs that Syne Tune and Ray print in their logs (U+2600-27BF
# Miscellaneous Symbols and Dingbats, U+1F000-1FAFF emoji): the text and
# code fonts lack most of them, so each one found in the book is typeset in
# the font family \dtwolemoji (Symbola, config.ini [pdf]). Variation
# selectors (U+FE0E/F, "text/emoji style") have no glyph and are dropped.
EMOJI = re.compile('[\u2600-\u27bf\U0001f000-\U0001faff]')
VARIATION_SELECTORS = ('\ufe0e', '\ufe0f')


def missing_requirements():
    """[(what, Debian package)] of what the PDF needs and this machine
    lacks."""
    missing = [(cmd, pkg) for cmd, pkg in COMMANDS if not shutil.which(cmd)]
    if shutil.which('kpsewhich'):
        missing += [(name, pkg) for name, pkg in TEX_FILES if not
                    subprocess.run(['kpsewhich', name], capture_output=True,
                                   text=True).stdout.strip()]
    if shutil.which('fc-list'):
        missing += [(f'the font {pattern}', pkg) for pattern, pkg in FONTS
                    if not subprocess.run(['fc-list', pattern, 'family'],
                                          capture_output=True,
                                          text=True).stdout.strip()]
    else:
        missing.append(('fc-list', 'fontconfig'))
    return missing


def _refuse_to_evaluate(builder, allow_outdated=False):
    """Stands in for Builder.eval: copies the resources as d2lbook does,
    but fails on an outdated notebook instead of evaluating it (or, with
    allow_outdated, warns and takes the notebook as it is)."""
    def check():
        notebooks, markdowns = builder._get_updated_md_files()
        missing = [src for src, tgt in notebooks if not os.path.exists(tgt)]
        if missing:
            raise SystemExit(
                f'build_pdf: no evaluated notebook for {", ".join(missing)}; '
                f'`make pdf` evaluates them first')
        if notebooks and allow_outdated:
            print('build_pdf: warning: older than their sources or d2l/, '
                  'taken as they are: ' + ', '.join(
                      src for src, _ in notebooks), flush=True)
        elif notebooks:
            names = ', '.join(src for src, _ in notebooks)
            raise SystemExit(
                f'build_pdf: outdated evaluated notebooks ({names}); '
                f'`make pdf` evaluates them first '
                f'(tools/evaluate_notebooks.py --tab {builder.config.tab})')
        builder._copy_resources(builder.config.src_dir,
                                builder.config.eval_dir)
        for src, tgt in markdowns:
            os.makedirs(os.path.dirname(tgt), exist_ok=True)
            shutil.copyfile(src, tgt)
    return check


def emoji_preamble(rst_dir):
    """LaTeX lines that typeset every pictograph that occurs in the
    reStructuredText under rst_dir in the font family \\dtwolemoji."""
    found = set()
    for folder, _, files in os.walk(rst_dir):
        for name in files:
            if name.endswith('.rst'):
                with open(os.path.join(folder, name), encoding='utf-8') as f:
                    found.update(EMOJI.findall(f.read()))
    lines = ['\\usepackage{newunicodechar}']
    lines += [f'\\newunicodechar{{{c}}}{{{{\\dtwolemoji {c}}}}}'
              for c in sorted(found)]
    lines += [f'\\newunicodechar{{{c}}}{{}}' for c in VARIATION_SELECTORS]
    return '\n'.join(lines) + '\n'


def latex_errors(log):
    """The error lines of a LaTeX log, with a line of context."""
    lines = log.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.startswith('!') or 'Fatal error' in line or (
                ' Error:' in line and 'Package' in line):
            found.append('\n'.join(lines[i:i + 3]))
    return found


def build_pdf(tab='pytorch', quiet=False, allow_outdated=False):
    os.chdir(ROOT)
    config = d2lbook_config.Config(tab=tab)
    builder = build.Builder(config)
    builder.eval = _refuse_to_evaluate(builder, allow_outdated)
    start = time.time()
    # 1. Notebooks -> reStructuredText in _build/rst, and d2lbook's conf.py.
    builder.rst()
    extra = config.pdf.get('sphinx_configs', '').strip()
    with open(os.path.join(config.rst_dir, 'conf.py'), 'a') as f:
        f.write('\n# Appended by tools/build_pdf.py: config.ini [pdf] '
                'sphinx_configs\n' + extra + '\n')
        preamble = emoji_preamble(config.rst_dir)
        f.write('# ... and the pictographs in the book\n'
                f"latex_elements['preamble'] += {preamble!r}\n")
    print(f'==> reStructuredText in {config.rst_dir} '
          f'({time.time() - start:.0f} s)', flush=True)
    # 2. reStructuredText -> LaTeX (SVG figures -> PDF with rsvg-convert).
    os.makedirs(config.pdf_dir, exist_ok=True)
    sphinx = [shutil.which('sphinx-build') or 'sphinx-build', '-b', 'latex',
              '-c', config.rst_dir, config.rst_dir, config.pdf_dir]
    if quiet:
        sphinx.append('-q')
    subprocess.run(sphinx, check=True)
    build.process_latex(config.tex_fname, config.pdf['post_latex'])
    print(f'==> LaTeX in {config.tex_fname} ({time.time() - start:.0f} s)',
          flush=True)
    # 3. LaTeX -> PDF: Sphinx's Makefile runs latexmk with xelatex, as many
    # passes as the cross-references and the bibliography need.
    log_path = os.path.join(config.pdf_dir, 'latex.log')
    env = dict(os.environ, LATEXOPTS='-interaction=batchmode -halt-on-error',
               LATEXMKOPTS='-silent')
    with open(log_path, 'w') as log:
        result = subprocess.run(['make', '-C', config.pdf_dir], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    name = config.project['name']
    pdf = os.path.join(config.pdf_dir, name + '.pdf')
    if result.returncode != 0:
        tex_log = os.path.join(config.pdf_dir, name + '.log')
        text = open(tex_log, errors='replace').read() if os.path.exists(
            tex_log) else open(log_path, errors='replace').read()
        errors = latex_errors(text) or text.splitlines()[-30:]
        raise SystemExit('build_pdf: LaTeX failed (see ' + tex_log + '):\n'
                         + '\n'.join(errors[:10]))
    print(f'==> {pdf} ({os.path.getsize(pdf) / 1e6:.1f} MB, '
          f'{time.time() - start:.0f} s)', flush=True)
    return pdf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tab', default='pytorch',
                        choices=('pytorch', 'tensorflow', 'mxnet'))
    parser.add_argument('--quiet', action='store_true',
                        help="less of Sphinx's output")
    parser.add_argument('--check', action='store_true',
                        help='only check that the system packages the PDF '
                        'needs are installed')
    parser.add_argument('--allow-outdated', action='store_true',
                        help='build from evaluated notebooks that are older '
                        'than their sources or the library, as they are')
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    missing = missing_requirements()
    if missing:
        packages = sorted({pkg for _, pkg in missing})
        sys.exit('build_pdf: missing ' + ', '.join(w for w, _ in missing)
                 + '. On Debian or Ubuntu: apt-get install '
                 '--no-install-recommends ' + ' '.join(packages)
                 + ' (README.md, "The PDF", lists them all)')
    if not args.check:
        build_pdf(args.tab, args.quiet, args.allow_outdated)


if __name__ == '__main__':
    main()
