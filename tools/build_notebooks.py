"""Write the Colab and SageMaker notebooks: one per section and per tab.

    python tools/build_notebooks.py [BOOK_DIR]      # what `make notebooks` runs

It runs d2lbook's own `build colab` and `build sagemaker` for all tabs, as
config.ini's [colab] and [sagemaker] sections configure them. d2lbook first
evaluates the notebooks that changed (cached in _build/eval, as for
`make html`; with [build] eval_notebook = False it only converts them), then
copies them to

    _build/colab/      _build/colab_tensorflow/      _build/colab_mxnet/
    _build/sagemaker/  _build/sagemaker_tensorflow/  _build/sagemaker_mxnet/

(the pytorch tab, the first in [build] tabs, has no suffix) and puts an
install cell first in each notebook with code: one `!pip install` line per
library that the notebook imports ([colab] libs). Colab notebooks whose code
contains [colab] gpu_pattern ask for a GPU runtime.

Four things d2lbook leaves to this script:

* the order of the install lines: d2lbook collects them in a Python set, so
  their order changes with the hash seed. A fixed PYTHONHASHSEED makes two
  builds of the same sources byte-identical.
* the placeholders: for a section that has no code in a tab (tensorflow and
  mxnet have none yet), d2lbook writes an empty file named .ipynb, which no
  notebook application opens. They are removed; sections without any code
  (the chapter's introduction) keep their text-only notebook in every tab.
* the files that evaluating a notebook wrote next to it (its training
  scripts, std.out): d2lbook copies them along; they are removed, since a
  notebook that runs a script writes that script itself.
* the figures: the sections show img/*.svg by a relative path, which a
  notebook opened on its own (Colab opens one notebook from GitHub, a
  student downloads one) cannot reach, and Colab does not show SVG from a
  data: URI either. tools/make_figures.py draws each figure again, into a
  temporary folder, as SVG and as PNG; when its SVG is byte for byte the one
  in img/, the PNG goes into the notebook as a data: URI. (Otherwise img/ is
  out of date with the script; the SVG itself is embedded then, which
  Jupyter and SageMaker Studio show, and a warning says so.)
"""
import base64
import glob
import os
import re
import subprocess
import sys
import tempfile

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUTS = ('colab', 'sagemaker')


# A Markdown image with a relative path to an SVG file.
SVG_IMAGE = re.compile(r'(!\[[^\]\n]*\]\()([^)\s:]+\.svg)(\))')


def draw_figures(folder):
    """PNG and SVG of every figure of tools/make_figures.py, in `folder`.

    In a process of its own: make_figures sets matplotlib's global style."""
    script = (
        'import sys; sys.path.insert(0, sys.argv[1]); import make_figures; '
        'make_figures.ROOT = sys.argv[2]; '  # it writes below ROOT
        "sys.argv = ['make_figures.py', '--png', sys.argv[2] + '/png']; "
        'make_figures.main()')
    subprocess.run([sys.executable, '-c', script, os.path.join(ROOT, 'tools'),
                    folder], check=True, stdout=subprocess.DEVNULL)


def data_uri(path, mime):
    with open(path, 'rb') as f:
        return f'data:{mime};base64,' + base64.b64encode(f.read()).decode()


def embed_figures(notebooks, book_dir):
    """Replace relative SVG images in the notebooks by data: URIs."""
    uris = {}
    with tempfile.TemporaryDirectory() as drawn:
        draw_figures(drawn)
        for svg in glob.glob(os.path.join(book_dir, 'img', '*.svg')):
            name = os.path.basename(svg)[:-4]
            again = os.path.join(drawn, 'img', name + '.svg')
            png = os.path.join(drawn, 'png', name + '.png')
            if (os.path.exists(again) and os.path.exists(png) and
                    open(again, 'rb').read() == open(svg, 'rb').read()):
                uris[name] = data_uri(png, 'image/png')
            else:
                print(f'warning: img/{name}.svg is not what '
                      'tools/make_figures.py draws; embedding the SVG',
                      file=sys.stderr)
                uris[name] = data_uri(svg, 'image/svg+xml')

    def replace(match):
        name = os.path.basename(match[2])[:-4]
        if name not in uris:
            raise ValueError(f'no figure img/{name}.svg for {match[0]}')
        return match[1] + uris[name] + match[3]

    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            if cell.cell_type == 'markdown' and SVG_IMAGE.search(cell.source):
                cell.source = SVG_IMAGE.sub(replace, cell.source)
                changed = True
        if changed:
            nbformat.write(nb, path)


def build(book_dir=ROOT):
    """Run d2lbook in `book_dir`; return the notebooks written, by folder."""
    env = dict(os.environ, PYTHONHASHSEED='0')
    # d2lbook runs sphinx/pandoc tools from PATH: prefer this Python's.
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env['PATH']
    for target in OUTPUTS:
        subprocess.run([sys.executable, '-m', 'd2lbook.main', 'build', target,
                        '--tab', 'all'], cwd=book_dir, env=env, check=True)
    written = {}
    for target in OUTPUTS:
        for folder in sorted(glob.glob(os.path.join(book_dir, '_build',
                                                    target + '*'))):
            paths = sorted(glob.glob(os.path.join(folder, '**', '*.ipynb'),
                                     recursive=True))
            for path in paths:
                if os.path.getsize(path) == 0:
                    os.remove(path)
            # d2lbook copies the evaluation folder whole: the training
            # scripts and logs that the evaluated notebooks wrote would be
            # published beside them. The notebooks write them themselves.
            for path in glob.glob(os.path.join(folder, '*', '*')):
                if path.endswith(('.py', '.out')) and os.path.isfile(path):
                    os.remove(path)
            written[os.path.relpath(folder, book_dir)] = [
                os.path.relpath(p, folder) for p in paths if os.path.exists(p)]
    embed_figures([os.path.join(book_dir, folder, p)
                   for folder, paths in written.items() for p in paths],
                  book_dir)
    return written


def main():
    book_dir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    for folder, notebooks in build(book_dir).items():
        print(f'{folder}: {len(notebooks)} notebooks')


if __name__ == '__main__':
    main()
