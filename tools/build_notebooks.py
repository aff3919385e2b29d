"""Write the notebooks that students download: one per section and per tab.

    python tools/build_notebooks.py                     # `make notebooks`
    python tools/build_notebooks.py --tab pytorch       # one tab
    python tools/build_notebooks.py --html _build/html  # `make html`

From the evaluated notebooks (_build/eval for the pytorch tab, the first in
config.ini [build] tabs, _build/eval_<tab> for the others; `make html` and
`make notebooks` evaluate them first) it writes

    _build/colab/      _build/colab_tensorflow/      _build/colab_mxnet/
    _build/sagemaker/  _build/sagemaker_tensorflow/  _build/sagemaker_mxnet/
    _build/notebooks/d2l-hpo-notebooks-<tab>.zip   (both kinds, per tab)
    _build/notebooks/wheel/                       (the embedded d2l wheel)

The colab notebooks are for Jupyter and Colab, the sagemaker ones for
SageMaker Studio: the same cells, with a kernel and a header of their own
(config.ini [colab] and [sagemaker]). Every notebook with code opens with a
header and an install cell, which

* installs the book's `d2l` library from the wheel that this script builds
  and embeds, base64-encoded, in the cell (about 50 KB), so that nothing
  needs to be published; with config.ini [colab] d2l set, from that pip
  requirement instead;
* installs only what is missing: the packages the notebook imports, at the
  versions in static/notebook-requirements.txt. One that is installed in its
  supported range stays as it is; a missing one comes at the tested version,
  and so does, when missing, everything these packages bring along (the
  versions of the tab's tested environment, .venv or .venv-<tab>);
* is collapsed: Colab's form view (`#@title`, cellView: form) and Jupyter's
  source_hidden.

With --html DIR the notebooks and zips are copied to DIR/notebooks, and
every section page of the HTML book gets download links, per tab, for both
kinds; the front page gets the zips. "Open in Colab" links appear only when
[colab] github_repo names the repositories the notebooks are published to.

What else the notebooks need from this script:

* the figures: the sections show img/*.svg by a relative path, which a
  notebook opened on its own cannot reach, and Colab does not show SVG from a
  data: URI either. tools/make_figures.py draws each figure again, into a
  temporary folder, as SVG and as PNG; when its SVG is byte for byte the one
  in img/, the PNG goes into the notebook as a data: URI. (Otherwise img/ is
  out of date with the script; the SVG itself is embedded then, which
  Jupyter and SageMaker Studio show, and a warning says so.)
* the table of contents of index notebooks becomes links to the notebooks
  (d2lbook's own update_ipynb_toc).
* sections without code in a tab get no notebook in that tab; pages without
  code (the chapter's introduction) keep a text-only notebook, which the zips
  carry as a table of contents.
"""
import argparse
import base64
import configparser
import glob
import html
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
TARGETS = ('colab', 'sagemaker')
PACKAGE_TABLE = os.path.join('static', 'notebook-requirements.txt')
# Zip files have dates; this one (the earliest a zip can hold) makes two
# builds of the same notebooks byte-identical. SOURCE_DATE_EPOCH does the
# same for the wheel.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SOURCE_DATE_EPOCH = '315532800'
# The marks around what --html puts into a page (replaced on a rerun).
HTML_BEGIN = '<!-- d2l-hpo notebooks -->'
HTML_END = '<!-- /d2l-hpo notebooks -->'
TAB_NAMES = {'pytorch': 'PyTorch', 'tensorflow': 'TensorFlow',
             'mxnet': 'MXNet'}
TARGET_NAMES = {'colab': 'Jupyter or Colab', 'sagemaker': 'SageMaker Studio'}


# ----------------------------------------------------------- configuration

def read_config(book_dir=ROOT):
    """config.ini as d2lbook reads it (with %(name)s interpolation)."""
    config = configparser.ConfigParser()
    config.read(os.path.join(book_dir, 'config.ini'), encoding='utf-8')
    return config


def config_tabs(config):
    return [t.strip() for t in config['build']['tabs'].split(',') if t.strip()]


def github_repos(config):
    """{tab: OWNER/REPO} from [colab] github_repo (empty: not published)."""
    repos = {}
    for line in config['colab'].get('github_repo', '').strip().splitlines():
        parts = [p.strip() for p in line.split(',')]
        if len(parts) != 2 or not all(parts):
            raise ValueError(f'[colab] github_repo: {line!r} is not '
                             '"tab, OWNER/REPO"')
        repos[parts[0]] = parts[1]
    return repos


def folder_name(target, tab, tabs):
    """d2lbook's folder of a tab: the first tab has no suffix."""
    return target if tab == tabs[0] else f'{target}_{tab}'


def read_package_table(path=None):
    """Rows of static/notebook-requirements.txt: dicts with tab, names (the
    distributions that count, a|b), supported, tested, needed_by."""
    rows = []
    with open(path or os.path.join(ROOT, PACKAGE_TABLE)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            tab, package, supported, tested, *needed_by = line.split()
            if not needed_by:
                raise ValueError(
                    f'{PACKAGE_TABLE}: no "needed by" in {line!r}')
            rows.append({'tab': tab, 'names': package.split('|'),
                         'supported': supported, 'tested': tested,
                         'needed_by': needed_by})
    return rows


# ---------------------------------------------------------- the notebooks

IMPORT = re.compile(r'^\s*(?:from\s+([A-Za-z_]\w*)[\w.]*\s+import\b|'
                    r'import\s+([A-Za-z_]\w*))')


def imported_modules(nb):
    """Top-level modules that the notebook's code imports, including the
    scripts it writes with %%writefile (they run with the same Python)."""
    found = set()
    for cell in nb.cells:
        if cell.cell_type != 'code':
            continue
        for line in cell.source.splitlines():
            m = IMPORT.match(line)
            if m:
                found.add(m[1] or m[2])
    return found


def packages_for(nb, tab, table):
    """(names, supported, tested) of the table rows this notebook needs."""
    modules = imported_modules(nb)
    return [(row['names'], row['supported'], row['tested'])
            for row in table if row['tab'] == tab
            and modules & set(row['needed_by'])]


CLOSURE_SCRIPT = r'''
import json, re, sys
from importlib import metadata
from packaging.requirements import Requirement

def key(name):
    return re.sub(r'[-_.]+', '-', name).lower()

todo = [Requirement(r) for r in json.loads(sys.argv[1])]
seen, versions = set(), {}
while todo:
    req = todo.pop()
    try:
        dist = metadata.distribution(req.name)
    except metadata.PackageNotFoundError:
        continue
    extras = tuple(sorted(req.extras))
    if (key(req.name), extras) in seen:
        continue
    seen.add((key(req.name), extras))
    versions[key(req.name)] = dist.version
    for dep in dist.requires or []:
        dep = Requirement(dep)
        if dep.marker is None or any(
                dep.marker.evaluate({'extra': e}) for e in extras or ('',)):
            todo.append(dep)
print(json.dumps(versions))
'''


def tested_environment(tab, table, python=None):
    """{distribution: version} of everything the tab's notebooks may need,
    as installed in the tab's tested environment (.venv or .venv-<tab>):
    the table's packages, the book's d2l, and what they require."""
    import evaluate_notebooks
    python = python or evaluate_notebooks.tab_python(tab)
    roots = ['d2l-hpo'] + [name for row in table if row['tab'] == tab
                           for name in row['names']]
    out = subprocess.run([python, '-c', CLOSURE_SCRIPT, json.dumps(roots)],
                         capture_output=True, text=True, check=True).stdout
    versions = json.loads(out)
    versions.pop('d2l-hpo', None)  # comes from the wheel
    versions.pop('pip', None)  # the installer itself
    for row in table:  # the table and the environment must agree
        if row['tab'] != tab:
            continue
        found = [versions.get(re.sub(r'\[.*', '', n)) for n in row['names']]
        if row['tested'] not in found:
            raise ValueError(
                f'{PACKAGE_TABLE}: {tab} {"|".join(row["names"])} tested '
                f'{row["tested"]}, but {python} has {found}')
    return dict(sorted(versions.items()))


def build_wheel(dest, book_dir=ROOT):
    """The wheel of the book's d2l library (package d2l-hpo), built from a
    copy of what the package needs, byte-identical for the same sources."""
    with tempfile.TemporaryDirectory() as src:
        for name in ('pyproject.toml', 'README.md'):
            shutil.copy(os.path.join(book_dir, name), src)
        shutil.copytree(os.path.join(book_dir, 'd2l'),
                        os.path.join(src, 'd2l'),
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        os.makedirs(dest, exist_ok=True)
        for old in glob.glob(os.path.join(dest, 'd2l_hpo-*.whl')):
            os.remove(old)
        env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH)
        subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                        '--no-build-isolation', '--quiet', '-w', dest, src],
                       check=True, env=env)
    (path,) = glob.glob(os.path.join(dest, 'd2l_hpo-*.whl'))
    return path


# The two functions below are copied, as they are, into every install cell:
# they are what a student's runtime runs. Only the standard library, pip and
# the `packaging` that pip carries. tests/test_install_cell.py tests them.

def plan_install(packages, tested, installed, gpu=False):
    """What to install, from the packages a notebook needs.

    packages: (names, supported, tested version) per package, where names
    are the distributions that count, e.g. (['tensorflow', 'tensorflow-cpu'],
    '>=2.16,<3', '2.21.0'). tested: 'name==version ...', the versions of the
    tested environment. installed: {distribution: version} of this runtime.

    Returns (kept, requirements, constraints, kept_constraints): the kept
    packages as 'name version'; the requirements for pip (empty when nothing
    is missing); the constraints that hold every kept package at its
    installed version and everything missing at its tested version; and the
    kept ones alone, for when the tested versions do not fit what the
    runtime has.
    """
    import re
    from importlib import metadata
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip always carries a copy
        from pip._vendor.packaging.requirements import Requirement

    def key(name):
        return re.sub(r'[-_.]+', '-', name).lower()

    def complete(req):
        """Installed in range, with what its extras (ray[tune]) need."""
        version = installed.get(key(req.name))
        if version is None or not req.specifier.contains(version, True):
            return False
        for extra in req.extras:
            try:
                requires = metadata.requires(req.name) or []
            except metadata.PackageNotFoundError:
                requires = []
            for dep in map(Requirement, requires):
                if (dep.marker is not None
                        and dep.marker.evaluate({'extra': extra})
                        and key(dep.name) not in installed):
                    return False
        return True

    kept, requirements, held, wanted = [], [], {}, {}
    for names, supported, version in packages:
        choices = [Requirement(name + supported) for name in names]
        have = [req for req in choices if complete(req)]
        if have:
            name = key(have[0].name)
            kept.append(f'{have[0].name} {installed[name]}')
            held[name] = installed[name]
        else:
            # tensorflow (GPU build) with a GPU, tensorflow-cpu without.
            req = choices[0] if gpu or len(choices) == 1 else choices[-1]
            requirements.append(str(req))
            wanted[key(req.name)] = version
    kept_constraints = [f'{n}=={v}' for n, v in held.items()]
    if not requirements:
        return kept, [], kept_constraints, kept_constraints
    for pin in tested.split():
        name, version = pin.split('==')
        if key(name) not in installed:
            wanted.setdefault(key(name), version)
    constraints = kept_constraints + [f'{n}=={v}' for n, v in wanted.items()
                                      if n not in held]
    return kept, requirements, constraints, kept_constraints


def install_packages(packages, tested, wheel=None, wheel_name=None,
                     d2l_requirement=None):
    """Install what this notebook needs and the runtime lacks (see
    plan_install), then the book's d2l library: from `wheel` (the base64
    text of the wheel file `wheel_name`), or the pip arguments
    `d2l_requirement` of a published release."""
    import base64
    import hashlib
    import importlib
    import json
    import os
    import re
    import shlex
    import shutil
    import subprocess
    import sys
    import tempfile
    from importlib import metadata

    def key(name):
        return re.sub(r'[-_.]+', '-', name).lower()

    def installed():
        importlib.invalidate_caches()
        found = {}
        for dist in metadata.distributions():
            try:
                name = dist.metadata['Name']
            except Exception:  # a broken installation without metadata
                continue
            if name:
                found.setdefault(key(name), dist.version)
        return found

    def pip(*args):
        result = subprocess.run(
            [sys.executable, '-m', 'pip', *args, '--disable-pip-version-check',
             '--no-input', '--quiet'], capture_output=True, text=True)
        return result.returncode == 0, result.stdout + result.stderr

    before = installed()
    modules_of = {}  # distribution -> its top-level modules
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            modules_of.setdefault(key(dist), set()).add(module)
    kept, requirements, constraints, kept_constraints = plan_install(
        packages, tested, before, shutil.which('nvidia-smi') is not None)
    if d2l_requirement:
        requirements += shlex.split(d2l_requirement)
    folder = tempfile.mkdtemp()
    if requirements:
        print('Installing', ', '.join(requirements),
              '(a few minutes when the framework is missing) ...', flush=True)
        log = ''
        # The tested versions of what is missing first; if they do not fit
        # what this runtime has, pip chooses within the supported ranges.
        for attempt in (constraints, kept_constraints):
            path = os.path.join(folder, 'constraints.txt')
            with open(path, 'w') as f:
                f.write('\n'.join(attempt) + '\n')
            ok, output = pip('install', '-c', path, *requirements)
            log += output
            if ok:
                break
            print('The tested versions do not fit what this runtime has; '
                  'letting pip choose within the supported versions ...',
                  flush=True)
        if not ok:
            print(log)
            raise RuntimeError('pip could not install '
                               + ' '.join(requirements))
    d2l_new = False  # the wheel was (re)installed
    if wheel:
        data = base64.b64decode(''.join(wheel.split()))
        digest = 'sha256=' + hashlib.sha256(data).hexdigest()
        try:
            origin = json.loads(metadata.distribution('d2l-hpo').read_text(
                'direct_url.json') or '{}')
        except metadata.PackageNotFoundError:
            origin = {}
        if origin.get('archive_info', {}).get('hash') != digest:
            if 'd2l' in before:  # PyPI's d2l: the same module name, d2l
                pip('uninstall', '--yes', 'd2l')
            path = os.path.join(folder, wheel_name)
            with open(path, 'wb') as f:
                f.write(data)
            ok, output = pip('install', '--no-deps', '--force-reinstall', path)
            if not ok:
                print(output)
                raise RuntimeError('pip could not install ' + wheel_name)
            d2l_new = True
    shutil.rmtree(folder, ignore_errors=True)

    after = installed()
    rows = {key(name.split('[')[0]) for names, _, _ in packages
            for name in names}
    added = [n for n in after if n not in before]
    replaced = sorted(f'{n} {before[n]} -> {after[n]}' for n in after
                      if n in before and before[n] != after[n]
                      and n != key('d2l-hpo'))
    print('Kept as installed:', ', '.join(kept) or 'nothing')
    named = sorted(f'{n} {after[n]}' for n in added if n in rows)
    others = len([n for n in added if n not in rows | {key('d2l-hpo')}])
    print('Installed:', ', '.join(named) or 'nothing',
          f'(and {others} packages they need)' if others else '')
    if replaced:
        print('Replaced:', ', '.join(replaced))
    print("The book's d2l library: d2l-hpo", after.get(key('d2l-hpo')),
          '(from this notebook)' if wheel else f'({d2l_requirement})')
    # A package replaced after the kernel loaded it needs a restart.
    changed = {n for n in rows if n in before and after.get(n) != before[n]}
    loaded = {name.partition('.')[0] for name in list(sys.modules)}
    stale = sorted(n for n in changed if modules_of.get(n, set()) & loaded)
    if 'd2l' in loaded and (d2l_new or before.get(key('d2l-hpo'))
                            != after.get(key('d2l-hpo'))):
        stale.append('d2l-hpo')
    if stale:
        raise RuntimeError(
            'Replaced while this kernel had them loaded: ' + ', '.join(stale)
            + '. Restart the kernel (Colab: Runtime > Restart session; '
            'Jupyter: Kernel > Restart Kernel), then run the notebook again '
            'from the top: this cell will find everything installed.')


def _wrap_string(text, indent, width=76):
    """A long string as adjacent literals, one per line."""
    chunk = width - indent - 2
    return '\n'.join(' ' * indent + repr(text[i:i + chunk])
                     for i in range(0, len(text), chunk))


def install_cell_source(packages, tested, wheel_path=None,
                        d2l_requirement=None):
    """The code of the install cell: the two functions above, then one call
    with this notebook's packages and the embedded wheel at the end."""
    if bool(wheel_path) == bool(d2l_requirement):
        raise ValueError('give the wheel or a published d2l requirement')
    title = ("#@title Install the book's d2l library and the packages this "
             'notebook needs (run this cell first) { display-mode: "form" }')
    what = ('# (from the wheel embedded at the end of this cell)'
            if wheel_path else f'# (from {d2l_requirement})')
    lines = [title,
             "# Installs the book's d2l library",
             what,
             '# and the packages this notebook imports. A package that is',
             '# already installed at a version the book supports stays as it',
             '# is; only missing ones are installed, at the tested versions.',
             inspect.getsource(plan_install).rstrip(), '', '',
             inspect.getsource(install_packages).rstrip(), '', '',
             '# (distributions, supported versions, tested version) of each '
             'package',
             '# this notebook imports (static/notebook-requirements.txt)',
             'PACKAGES = [']
    for names, supported, version in packages:
        lines.append(f'    ({names!r}, {supported!r}, {version!r}),')
    lines += [']',
              '# The tested versions of everything these packages bring along',
              '# (installed at these versions when missing)',
              'TESTED = (']
    # One literal per line; the space after each pin keeps them apart.
    line = ''
    for pin in (f'{n}=={v}' for n, v in tested.items()):
        if line and len(line) + len(pin) > 64:
            lines.append(f'    {line!r}')
            line = ''
        line += pin + ' '
    if line:
        lines.append(f'    {line!r}')
    lines.append(')')
    if wheel_path:
        with open(wheel_path, 'rb') as f:
            payload = base64.b64encode(f.read()).decode()
        lines += ['install_packages(',
                  f'    PACKAGES, TESTED, '
                  f'wheel_name={os.path.basename(wheel_path)!r}, wheel=(',
                  _wrap_string(payload, 4), '))']
    else:
        lines.append(f'install_packages(PACKAGES, TESTED, '
                     f'd2l_requirement={d2l_requirement!r})')
    return '\n'.join(lines) + '\n'


def install_cell(source):
    cell = nbformat.v4.new_code_cell(source=source)
    # Collapsed: Colab's form view shows the #@title, Jupyter an ellipsis.
    cell.metadata.update({'cellView': 'form',
                          'jupyter': {'source_hidden': True},
                          'tags': ['d2l-install']})
    return cell


def is_install_cell(cell):
    return (cell.cell_type == 'code'
            and 'd2l-install' in cell.get('metadata', {}).get('tags', []))


# A Markdown image with a relative path to an SVG file.
SVG_IMAGE = re.compile(r'(!\[[^\]\n]*\]\()([^)\s:]+\.svg)(\))')


def draw_figures(folder):
    """PNG and SVG of every figure of tools/make_figures.py, in `folder`.

    In a process of its own: make_figures sets matplotlib's global style."""
    subprocess.run([sys.executable, os.path.join(ROOT, 'tools',
                                                 'make_figures.py'),
                    '--out', folder, '--png', os.path.join(folder, 'png')],
                   check=True, stdout=subprocess.DEVNULL)


def data_uri(path, mime):
    with open(path, 'rb') as f:
        return f'data:{mime};base64,' + base64.b64encode(f.read()).decode()


def figure_uris(book_dir):
    """{figure name: data: URI} for every img/*.svg of the book."""
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
    return uris


def embed_figures(nb, uris):
    """Replace relative SVG images in the notebook by data: URIs."""
    def replace(match):
        name = os.path.basename(match[2])[:-4]
        if name not in uris:
            raise ValueError(f'no figure img/{name}.svg for {match[0]}')
        return match[1] + uris[name] + match[3]

    for cell in nb.cells:
        if cell.cell_type == 'markdown' and SVG_IMAGE.search(cell.source):
            cell.source = SVG_IMAGE.sub(replace, cell.source)


def source_files(book_dir, tab):
    """The book's Markdown sources that d2lbook evaluates (config.ini
    [build] notebooks), relative to book_dir, and the tab's evaluation
    folder: a new section comes with the toc's glob."""
    from d2lbook import build, config as d2lbook_config
    cwd = os.getcwd()
    os.chdir(book_dir)  # d2lbook reads config.ini from the working folder
    try:
        builder = build.Builder(d2lbook_config.Config(tab=tab))
        notebooks = builder._find_md_files()[0]
        eval_dir = builder.config.eval_dir
    finally:
        os.chdir(cwd)
    return sorted(os.path.normpath(p) for p in notebooks), \
        eval_dir


def has_code(nb):
    return any(c.cell_type == 'code' and c.source.strip() for c in nb.cells)


def make_notebook(evaluated, target, tab, config, cell_source, uris):
    """The downloadable notebook of one kind, from an evaluated one."""
    from d2lbook.slides import remove_slide_marks
    # The slide marks (**...**) and [**...**] of the sources (see
    # tools/build_slides.py) are for the lecture slides only; d2lbook drops
    # them for the HTML book and the PDF, and so do we.
    nb = remove_slide_marks(nbformat.from_dict(json.loads(json.dumps(
        evaluated))))  # a copy
    embed_figures(nb, uris)
    kernel = config[target].get('kernel', 'python3').strip() or 'python3'
    nb.metadata['kernelspec'] = {'name': kernel, 'display_name': 'Python 3',
                                 'language': 'python'}
    nb.metadata.pop('required_libs', None)  # d2lbook's, unused here
    if target == 'colab' and config['colab']['gpu_pattern'] in '\n'.join(
            c.source for c in nb.cells if c.cell_type == 'code'):
        nb.metadata['accelerator'] = 'GPU'  # Colab asks for a GPU runtime
    if cell_source is not None:
        header = nbformat.v4.new_markdown_cell(
            source=' '.join(config[target]['libs_header'].split()))
        nb.cells[:0] = [header, install_cell(cell_source)]
    return nb


def build(book_dir=ROOT, tabs=None, out_dir=None, python=None):
    """Write the notebooks of `tabs` (default: every tab of config.ini)
    and a zip per tab; return {folder: [notebook paths]} relative to
    out_dir (default: book_dir/_build)."""
    from d2lbook.build import update_ipynb_toc
    config = read_config(book_dir)
    all_tabs = config_tabs(config)
    tabs = tabs or all_tabs
    out_dir = out_dir or os.path.join(book_dir, '_build')
    table = read_package_table(os.path.join(book_dir, PACKAGE_TABLE))
    d2l_requirement = config['colab'].get('d2l', '').strip()
    wheel_path = None
    if not d2l_requirement:
        wheel_path = build_wheel(os.path.join(out_dir, 'notebooks', 'wheel'),
                                 book_dir)
    uris = figure_uris(book_dir)
    written = {}
    for tab in tabs:
        tested = tested_environment(tab, table, python and python(tab))
        sources, eval_dir = source_files(book_dir, tab)
        folders = {t: os.path.join(out_dir, folder_name(t, tab, all_tabs))
                   for t in TARGETS}
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
        for source in sources:
            name = os.path.splitext(source)[0] + '.ipynb'
            evaluated_path = os.path.join(book_dir, eval_dir, name)
            if (not os.path.exists(evaluated_path)
                    or os.path.getsize(evaluated_path) == 0):
                continue  # no code in this tab: d2lbook's empty placeholder
            if (os.path.getmtime(evaluated_path)
                    < os.path.getmtime(os.path.join(book_dir, source))):
                raise RuntimeError(
                    f'{evaluated_path} is older than {source}: evaluate it '
                    f'first (python tools/evaluate_notebooks.py --tab {tab})')
            evaluated = nbformat.read(evaluated_path, as_version=4)
            cell_source = None
            if has_code(evaluated):
                cell_source = install_cell_source(
                    packages_for(evaluated, tab, table), tested, wheel_path,
                    d2l_requirement or None)
            for target, folder in folders.items():
                nb = make_notebook(evaluated, target, tab, config,
                                   cell_source, uris)
                path = os.path.join(folder, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                nbformat.validate(nb)
                nbformat.write(nb, path)
                written.setdefault(os.path.relpath(folder, out_dir),
                                   []).append(name)
        for folder in folders.values():
            update_ipynb_toc(folder)
        write_zip(tab, {t: folders[t] for t in TARGETS},
                  os.path.join(out_dir, 'notebooks'))
    return written


def zip_name(tab):
    return f'd2l-hpo-notebooks-{tab}.zip'


def write_zip(tab, folders, dest):
    """One zip per tab: colab/ (Jupyter and Colab) and sagemaker/."""
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, zip_name(tab))
    top = zip_name(tab)[:-4]
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        for target, folder in folders.items():
            for nb in sorted(glob.glob(os.path.join(folder, '**', '*.ipynb'),
                                       recursive=True)):
                arcname = '/'.join([top, target, os.path.relpath(
                    nb, folder).replace(os.sep, '/')])
                info = zipfile.ZipInfo(arcname, ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with open(nb, 'rb') as f:
                    z.writestr(info, f.read())
    return path


# -------------------------------------------------------------- HTML book

def _size(path):
    return f'{os.path.getsize(path) / 1e6:.1f} MB' if os.path.getsize(
        path) >= 1e6 else f'{os.path.getsize(path) / 1e3:.0f} KB'


def _button(href, text, icon, download=None, title=None, **data):
    attrs = f' href="{html.escape(href)}"'
    if download:
        attrs += f' download="{html.escape(download)}"'
    if title:
        attrs += f' title="{html.escape(title)}"'
    for name, value in data.items():  # data-tab, data-kind: for the tests
        attrs += f' data-{name}="{html.escape(value)}"'
    return (f'<a class="mdl-button mdl-js-button mdl-button--primary '
            f'd2l-hpo-notebook"{attrs}><i class="fas {icon}"></i> '
            f'{html.escape(text)}</a>')


def section_links(page_rel, notebook, tab, tabs, html_dir, repos):
    """The links of one tab on one section page ('' if the tab has no
    notebook of the section)."""
    up = '../' * page_rel.count('/')
    links = []
    stem = os.path.splitext(os.path.basename(notebook))[0]
    for target in TARGETS:
        rel = '/'.join(['notebooks', folder_name(target, tab, tabs), notebook])
        if not os.path.exists(os.path.join(html_dir, rel)):
            return ''
        suffix = '' if target == 'colab' else '-sagemaker'
        links.append(_button(
            up + rel, TARGET_NAMES[target], 'fa-download',
            download=f'{stem}-{tab}{suffix}.ipynb',
            title=f'Download the {TAB_NAMES.get(tab, tab)} notebook of this '
                  f'section for {TARGET_NAMES[target]}', tab=tab, kind=target))
    if tab in repos:
        links.append(_button(
            f'https://colab.research.google.com/github/{repos[tab]}/blob/'
            f'master/{notebook}', 'Open in Colab', 'fa-external-link-alt',
            tab=tab, kind='open-in-colab'))
    return (f'<span class="d2l-hpo-notebooks__label">Notebook '
            f'({TAB_NAMES.get(tab, tab)}):</span> ' + ' '.join(links))


def insert_block(page, block):
    """Put `block` right after the page's first heading (again on a rerun)."""
    with open(page, encoding='utf-8') as f:
        text = f.read()
    text = re.sub(re.escape(HTML_BEGIN) + '.*?' + re.escape(HTML_END), '',
                  text, flags=re.S)
    end = text.find('</h1>')
    if end < 0:
        raise ValueError(f'{page} has no <h1>')
    end += len('</h1>')
    text = text[:end] + HTML_BEGIN + block + HTML_END + text[end:]
    with open(page, 'w', encoding='utf-8') as f:
        f.write(text)


def publish(html_dir, tabs, book_dir=ROOT, out_dir=None):
    """Copy the notebooks and zips into html_dir/notebooks and add the
    download links to the pages. Returns {page: [tabs with links]}."""
    config = read_config(book_dir)
    all_tabs = config_tabs(config)
    repos = github_repos(config)
    out_dir = out_dir or os.path.join(book_dir, '_build')
    dest = os.path.join(html_dir, 'notebooks')
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for tab in tabs:
        for target in TARGETS:
            folder = folder_name(target, tab, all_tabs)
            shutil.copytree(os.path.join(out_dir, folder),
                            os.path.join(dest, folder))
        shutil.copy(os.path.join(out_dir, 'notebooks', zip_name(tab)), dest)
    pages = {}
    # Section pages: those whose notebook has code in some tab.
    sources, _ = source_files(book_dir, all_tabs[0])
    for source in sources:
        notebook = os.path.splitext(source)[0].replace(os.sep, '/') + '.ipynb'
        page_rel = notebook[:-len('.ipynb')] + '.html'
        page = os.path.join(html_dir, page_rel)
        if not os.path.exists(page):
            continue
        per_tab = [section_links(page_rel, notebook, tab, all_tabs, html_dir,
                                 repos) if tab in tabs else ''
                   for tab in all_tabs]
        with_code = [tab for tab, links in zip(all_tabs, per_tab)
                     if links and _notebook_has_code(os.path.join(
                         dest, folder_name('colab', tab, all_tabs), notebook))]
        if not with_code:
            continue
        if len(tabs) > 1:
            # d2lbook's tab switch shows the .d2l-tabs__tab of the chosen
            # framework (the same order as [build] tabs).
            inner = ''.join(f'<div class="d2l-tabs__tab">{links}</div>'
                            for links in per_tab)
            block = f'<div class="d2l-tabs">{inner}</div>'
        else:
            block = per_tab[all_tabs.index(tabs[0])]
        insert_block(page, '<div class="d2l-hpo-notebooks" '
                     'id="d2l-hpo-notebooks">' + block + '</div>')
        pages[page_rel] = with_code
    # The front page: every notebook of a tab in one zip.
    index = os.path.join(html_dir, 'index.html')
    if os.path.exists(index):
        zips = ' '.join(_button(
            'notebooks/' + zip_name(tab),
            f'{TAB_NAMES.get(tab, tab)} '
            f'({_size(os.path.join(dest, zip_name(tab)))})',
            'fa-file-archive', download=zip_name(tab),
            title=f'All {TAB_NAMES.get(tab, tab)} notebooks, for Jupyter or '
                  'Colab (colab/) and for SageMaker Studio (sagemaker/)',
            tab=tab, kind='zip')
            for tab in tabs)
        insert_block(index, '<div class="d2l-hpo-notebooks" '
                     'id="d2l-hpo-notebooks"><span class="d2l-hpo-notebooks__'
                     'label">All notebooks (zip):</span> '
                     + zips + '</div>')
        pages['index.html'] = list(tabs)
    return pages


def _notebook_has_code(path):
    return os.path.exists(path) and has_code(nbformat.read(path, 4))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tab', default='all',
                        help='a tab of config.ini [build] tabs, or all')
    parser.add_argument('--html', default=None, metavar='HTML_DIR',
                        help='also put the notebooks into this built book')
    args = parser.parse_args()
    tabs = config_tabs(read_config())
    if args.tab != 'all':
        if args.tab not in tabs:
            parser.error(f'--tab must be one of {tabs} or all')
        tabs = [args.tab]
    written = build(tabs=tabs)
    for folder, notebooks in sorted(written.items()):
        print(f'_build/{folder}: {len(notebooks)} notebooks')
    for tab in tabs:
        print(f'_build/notebooks/{zip_name(tab)}')
    if args.html:
        pages = publish(args.html, tabs)
        print(f'{args.html}: download links on {len(pages)} pages')


if __name__ == '__main__':
    main()
