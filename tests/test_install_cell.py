"""The install cell of the downloadable notebooks, and how
tools/build_notebooks.py builds them, without running a notebook (seconds).

* static/notebook-requirements.txt, the one place for supported versions,
  agrees with the pinned environments and with pyproject.toml;
* plan_install, the part of the install cell that decides, keeps what is
  installed in range and installs the tested versions of what is missing;
* the cell embeds the book's wheel (collapsed in Colab and Jupyter), or
  installs a published d2l when config.ini [colab] d2l names one;
* the notebooks come from the sections d2lbook finds (a new section
  needs no change here), the zips are byte-identical from build to build,
  and the HTML pages get download links, and Colab buttons only when
  [colab] github_repo is set.

tests/test_colab_notebooks.py runs the cells for real, in fresh virtual
environments, on the notebooks behind the links of the built book.
"""
import ast
import base64
import configparser
import hashlib
import json
import io
import os
import re
import shutil
import sys
import zipfile

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from chapter import CHAPTER, ROOT, SECTIONS

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import build_notebooks  # noqa: E402

TABLE = build_notebooks.read_package_table()
CONFIG = build_notebooks.read_config()
TABS = build_notebooks.config_tabs(CONFIG)


def key(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def pins(tab):
    """{distribution: version} pinned in the tab's requirement files."""
    files = [f'requirements-{tab}.txt'] + (['requirements-ray.txt']
                                           if tab == 'pytorch' else [])
    found = {}
    for name in files:
        for line in open(os.path.join(ROOT, 'static', name)):
            line = line.split('#')[0].strip()
            if '==' in line:
                req = Requirement(line)
                found[key(req.name)] = str(req.specifier)[2:]
    return found


def rows(tab):
    return [r for r in TABLE if r['tab'] == tab]


def packages(tab, needed_by=('d2l', 'syne_tune', 'pandas', 'ray')):
    return [(r['names'], r['supported'], r['tested']) for r in rows(tab)
            if set(r['needed_by']) & set(needed_by)]


# ------------------------------------------------------ the table of versions

@pytest.mark.parametrize('tab', TABS)
def test_table_agrees_with_the_tested_environment(tab):
    """Every tested version is the pin of static/requirements-<tab>.txt and
    lies in its supported range; the framework and the book's pins are
    there."""
    pinned = pins(tab)
    assert rows(tab), tab
    for row in rows(tab):
        names = [key(Requirement(n).name) for n in row['names']]
        assert row['tested'] in [pinned.get(n) for n in names], row
        assert SpecifierSet(row['supported']).contains(row['tested']), row
    exact = {key(Requirement(r['names'][0]).name): r['supported']
             for r in rows(tab) if r['supported'].startswith('==')}
    # Pinned exactly: what the book's behaviour depends on (and MXNet 1.9.1,
    # the last release).
    assert exact['syne-tune'] == '==0.16.0' and exact['ray'] == '==2.60.0'
    assert set(exact) <= {'syne-tune', 'ray', 'mxnet'}
    kept = {key(Requirement(n).name) for r in rows(tab) for n in r['names']}
    assert {'numpy', 'matplotlib', 'pandas', 'ipywidgets'} <= kept
    assert {'pytorch': 'torch', 'tensorflow': 'tensorflow',
            'mxnet': 'mxnet'}[tab] in kept


def test_table_agrees_with_pyproject():
    """The library's own loose requirements name the same lower bounds."""
    import tomllib
    with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as f:
        project = tomllib.load(f)['project']
    declared = [Requirement(r) for r in project['dependencies']] + [
        Requirement(r) for extra in project['optional-dependencies'].values()
        for r in extra]
    lower = {}
    for req in declared:
        for spec in req.specifier:
            if spec.operator == '>=':
                lower[key(req.name)] = spec.version
    for row in TABLE:
        for name in row['names']:
            name = key(Requirement(name).name)
            low = [s.version for s in SpecifierSet(row['supported'])
                   if s.operator == '>=']
            if name in lower and low:
                assert low[0] == lower[name], (row, lower[name])


def test_every_tab_has_its_tested_environment():
    for tab in TABS:
        tested = build_notebooks.tested_environment(tab, TABLE)
        pinned = pins(tab)
        # The lock is the tab's tested environment: the pinned versions.
        differ = {n: (v, pinned.get(n)) for n, v in tested.items()
                  if n in pinned and pinned[n] != v}
        assert not differ, (tab, differ)
        assert tested['syne-tune'] == '0.16.0'
        assert 'd2l-hpo' not in tested


# -------------------------------------------------------------- plan_install

def test_fresh_runtime_gets_the_tested_versions():
    tested = 'numpy==2.4.6 scipy==1.17.1 torch==2.14.1'
    kept, requirements, constraints, fallback = build_notebooks.plan_install(
        packages('pytorch', ['d2l']), tested, {})
    assert kept == [] and fallback == []
    assert set(requirements) == {'torch<3,>=2.0', 'torchvision<1,>=0.15',
                                 'numpy<3,>=1.26', 'matplotlib<4,>=3.7',
                                 'mlxtend<1,>=0.23'}
    assert set(constraints) == {'torch==2.14.1', 'torchvision==0.29.1',
                                'numpy==2.4.6', 'matplotlib==3.11.2',
                                'mlxtend==0.25.0', 'scipy==1.17.1'}


def test_a_runtime_with_the_stack_keeps_it():
    """Colab-like: the framework, numpy, pandas, matplotlib and ipywidgets
    at other supported versions stay; only Syne Tune and what is missing
    come, and the kept ones are held at their versions."""
    have = {'torch': '2.9.0+cu126', 'torchvision': '0.24.0+cu126',
            'numpy': '2.0.2', 'pandas': '2.2.2', 'matplotlib': '3.10.0',
            'ipywidgets': '8.1.5', 'scipy': '1.16.3'}
    kept, requirements, constraints, fallback = build_notebooks.plan_install(
        packages('pytorch', ['d2l', 'syne_tune']),
        'scipy==1.17.1 xgboost==3.2.0 numpy==2.4.6', have)
    assert kept == ['torch 2.9.0+cu126', 'torchvision 0.24.0+cu126',
                    'numpy 2.0.2', 'matplotlib 3.10.0', 'pandas 2.2.2']
    assert requirements == ['mlxtend<1,>=0.23', 'syne-tune==0.16.0']
    assert fallback == ['torch==2.9.0+cu126', 'torchvision==0.24.0+cu126',
                        'numpy==2.0.2', 'matplotlib==3.10.0', 'pandas==2.2.2']
    # Installed packages are never constrained to the tested version.
    assert 'scipy==1.17.1' not in constraints
    assert {'mlxtend==0.25.0', 'syne-tune==0.16.0',
            'xgboost==3.2.0'} <= set(constraints)


def test_nothing_to_install_when_everything_is_there():
    have = {'torch': '2.14.1', 'torchvision': '0.29.1', 'numpy': '2.4.6',
            'matplotlib': '3.11.2', 'mlxtend': '0.25.0'}
    kept, requirements, constraints, _ = build_notebooks.plan_install(
        packages('pytorch', ['d2l']), 'numpy==2.4.6', have)
    assert requirements == [] and len(kept) == 5
    assert 'numpy==2.4.6' in constraints


def test_outside_the_supported_range_is_replaced():
    have = {'numpy': '1.26.4', 'pandas': '1.5.3', 'syne-tune': '0.15.0'}
    _, requirements, constraints, _ = build_notebooks.plan_install(
        packages('pytorch', ['pandas', 'syne_tune']), '', have)
    assert requirements == ['pandas<4,>=2.2', 'syne-tune==0.16.0']
    assert constraints == ['pandas==3.1.1', 'syne-tune==0.16.0']
    # MXNet's tab supports no numpy 2.
    _, requirements, _, _ = build_notebooks.plan_install(
        packages('mxnet', ['d2l']), '', {'numpy': '2.0.2', 'mxnet': '1.9.1'})
    assert 'numpy<2,>=1.26' in requirements


def test_tensorflow_or_tensorflow_cpu():
    tf = [(['tensorflow', 'tensorflow-cpu'], '>=2.16,<3', '2.21.0')]
    plan = build_notebooks.plan_install
    assert plan(tf, '', {'tensorflow-cpu': '2.21.0'})[0] == [
        'tensorflow-cpu 2.21.0']
    assert plan(tf, '', {'tensorflow': '2.19.0'})[0] == ['tensorflow 2.19.0']
    assert build_notebooks.plan_install(tf, '', {}, gpu=True)[1] == [
        'tensorflow<3,>=2.16']
    _, requirements, constraints, _ = build_notebooks.plan_install(tf, '', {})
    assert requirements == ['tensorflow-cpu<3,>=2.16']
    assert constraints == ['tensorflow-cpu==2.21.0']


def test_an_extra_counts_only_with_its_requirements():
    """ray[tune] is complete only with what its extra needs (this test
    reads Ray's metadata from the environment it runs in)."""
    from importlib import metadata
    pytest.importorskip('ray')
    have = {key(d.metadata['Name']): d.version
            for d in metadata.distributions()}
    ray = [(['ray[tune]'], '==' + have['ray'], have['ray'])]
    assert build_notebooks.plan_install(ray, '', have)[1] == []
    del have['tensorboardx']  # an extra's requirement of ray[tune]
    assert build_notebooks.plan_install(ray, '', have)[1] == [
        f'ray[tune]=={metadata.version("ray")}']


# ------------------------------------------------------------ the cell itself

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    return build_notebooks.build_wheel(str(tmp_path_factory.mktemp('wheel')))


def test_wheel_is_reproducible_and_holds_the_library(wheel, tmp_path):
    again = build_notebooks.build_wheel(str(tmp_path))
    assert open(again, 'rb').read() == open(wheel, 'rb').read()
    with zipfile.ZipFile(wheel) as z:
        for path in ('d2l/__init__.py', 'd2l/hpo.py', 'd2l/torch.py',
                     'd2l/torch_hpo.py', 'd2l/profiles.py',
                     'd2l/exercises.py',
                     'd2l/data/lenet_learning_curves.csv'):
            assert z.read(path) == open(os.path.join(ROOT, path), 'rb').read()
    assert os.path.getsize(wheel) < 200_000


def cell_literals(source):
    """PACKAGES, TESTED and the call's keywords, read from the cell."""
    tree = ast.parse(source)
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    call = tree.body[-1].value
    assert call.func.id == 'install_packages'
    values['call'] = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    return values


def test_cell_embeds_the_wheel_and_is_collapsed(wheel):
    pkgs = packages('pytorch', ['d2l', 'syne_tune'])
    source = build_notebooks.install_cell_source(
        pkgs, {'numpy': '2.4.6', 'scipy': '1.17.1'}, wheel_path=wheel)
    cell = build_notebooks.install_cell(source)
    first = source.splitlines()[0]
    assert first.startswith('#@title ') and 'display-mode: "form"' in first
    assert cell.metadata['cellView'] == 'form'
    assert cell.metadata['jupyter'] == {'source_hidden': True}
    values = cell_literals(source)
    assert values['PACKAGES'] == [tuple(p) for p in pkgs]
    assert values['TESTED'].split() == ['numpy==2.4.6', 'scipy==1.17.1']
    data = base64.b64decode(values['call']['wheel'])
    assert hashlib.sha256(data).digest() == hashlib.sha256(
        open(wheel, 'rb').read()).digest()
    assert values['call']['wheel_name'] == os.path.basename(wheel)
    # The readable part comes first; the payload is the last statement.
    assert source.index('def plan_install') < source.index("wheel=(")
    assert max(len(line) for line in source.splitlines()[1:]) <= 79  # PEP 8


def test_cell_installs_a_published_d2l_when_configured():
    requirement = ('--extra-index-url https://example.org/simple '
                   'd2l-hpo==0.1.0')
    source = build_notebooks.install_cell_source(
        packages('pytorch', ['d2l']), {}, d2l_requirement=requirement)
    values = cell_literals(source)
    assert values['call'] == {'d2l_requirement': requirement}
    assert 'wheel=' not in source.split('def ')[-1]


def test_config_says_embed_by_default():
    """One setting: [colab] d2l empty means the wheel is embedded; it is
    never PyPI's d2l; SageMaker has no setting of its own."""
    d2l = CONFIG['colab']['d2l'].strip()
    assert not re.match(r'd2l\s*($|[=<>~!])', d2l), d2l
    assert 'd2l' not in CONFIG['sagemaker']
    assert CONFIG['sagemaker']['kernel'].strip() == 'python3'


@pytest.mark.parametrize('source', ['import torch', 'from d2l import torch',
                                    '    from ray import tune',
                                    'import pandas as pd'])
def test_imports_are_found(source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    (module,) = build_notebooks.imported_modules(nb)
    assert module in source
    comment = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('# ' + source)])
    assert not build_notebooks.imported_modules(comment)


# ---------------------------------------------------- which notebooks, zips

def test_sections_come_from_the_chapter_not_a_list():
    sources, eval_dir = build_notebooks.source_files(ROOT, TABS[0])
    for path in SECTIONS:
        assert os.path.relpath(path, ROOT) in sources
    assert eval_dir == os.path.join('_build', 'eval')


def test_zip_is_byte_identical_from_build_to_build(tmp_path):
    folders = {}
    for target in build_notebooks.TARGETS:
        folder = tmp_path / target / 'chapter'
        folder.mkdir(parents=True)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])
        nbformat.write(nb, str(folder / 'a.ipynb'))
        folders[target] = str(tmp_path / target)
    first = open(build_notebooks.write_zip('pytorch', folders,
                                           str(tmp_path / 'z1')), 'rb').read()
    os.utime(str(tmp_path / 'colab' / 'chapter' / 'a.ipynb'), (0, 0))
    second = open(build_notebooks.write_zip('pytorch', folders,
                                            str(tmp_path / 'z2')), 'rb').read()
    assert first == second
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == ['d2l-hpo-notebooks-pytorch/colab/chapter/a.ipynb',
                     'd2l-hpo-notebooks-pytorch/sagemaker/chapter/a.ipynb']


# ------------------------------------------------------------- the HTML step

@pytest.fixture
def small_book(tmp_path):
    """A book of two sections, as d2lbook would have built and evaluated
    it, with the notebooks of two tabs written by build_notebooks.build."""
    book = tmp_path / 'book'
    chapter = book / os.path.basename(CHAPTER)
    chapter.mkdir(parents=True)
    for name in ('config.ini', 'pyproject.toml', 'README.md'):
        shutil.copy(os.path.join(ROOT, name), book / name)
    shutil.copytree(os.path.join(ROOT, 'd2l'), book / 'd2l',
                    ignore=shutil.ignore_patterns('__pycache__'))
    (book / 'static').mkdir()
    shutil.copy(os.path.join(ROOT, build_notebooks.PACKAGE_TABLE),
                book / 'static')
    (book / 'img').mkdir()
    (book / 'index.md').write_text('# Book\n')
    code = {'intro': '', 'one': 'import torch\nfrom d2l import torch as d2l',
            'two': 'from syne_tune import Tuner'}
    for name, source in code.items():
        (chapter / f'{name}.md').write_text(f'# {name}\n')
        for tab, eval_dir in (('pytorch', 'eval'),
                              ('tensorflow', 'eval_tensorflow')):
            folder = book / '_build' / eval_dir / chapter.name
            folder.mkdir(parents=True, exist_ok=True)
            cells = [nbformat.v4.new_markdown_cell(f'# {name}')]
            if source and not (tab == 'tensorflow' and name == 'two'):
                cells.append(nbformat.v4.new_code_cell(
                    source.replace('torch', 'tensorflow' if tab != 'pytorch'
                                   else 'torch') + '\nd2l.num_gpus()'))
            elif name == 'two':  # no code in this tab: an empty placeholder
                (folder / f'{name}.ipynb').write_text('')
                continue
            nbformat.write(nbformat.v4.new_notebook(
                cells=cells, metadata={'required_libs': []}),  # as d2lbook's
                str(folder / f'{name}.ipynb'))
    for eval_dir in ('eval', 'eval_tensorflow'):
        nbformat.write(nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell('# Book')],
            metadata={'required_libs': []}),
            str(book / '_build' / eval_dir / 'index.ipynb'))
    html = book / '_build' / 'html'
    (html / chapter.name).mkdir(parents=True)
    for page in ['index.html'] + [f'{chapter.name}/{n}.html' for n in code]:
        (html / page).write_text('<html><h1>Title</h1><p>text</p></html>')
    return book


def configure(book, **colab):
    config = configparser.ConfigParser()
    config.read(str(book / 'config.ini'))
    for name, value in colab.items():
        config['colab'][name] = value
    with open(str(book / 'config.ini'), 'w') as f:
        config.write(f)


def test_build_and_publish_a_small_book(small_book):
    chapter = os.path.basename(CHAPTER)
    written = build_notebooks.build(str(small_book),
                                    tabs=['pytorch', 'tensorflow'])
    assert sorted(written['colab']) == sorted(
        ['index.ipynb'] + [f'{chapter}/{n}.ipynb'
                           for n in ('intro', 'one', 'two')])
    # Section 'two' has no TensorFlow code: no TensorFlow notebook.
    assert f'{chapter}/two.ipynb' not in written['colab_tensorflow']
    build_dir = small_book / '_build'
    one = nbformat.read(str(build_dir / 'colab' / chapter / 'one.ipynb'), 4)
    assert build_notebooks.is_install_cell(one.cells[1])
    assert one.metadata['accelerator'] == 'GPU'
    assert 'torch' in cell_literals(one.cells[1].source)['PACKAGES'][0][0]
    intro = nbformat.read(str(build_dir / 'colab' / chapter / 'intro.ipynb'),
                          4)
    assert not any(build_notebooks.is_install_cell(c) for c in intro.cells)
    sagemaker = nbformat.read(
        str(build_dir / 'sagemaker_tensorflow' / chapter / 'one.ipynb'), 4)
    tf = cell_literals(sagemaker.cells[1].source)['PACKAGES']
    assert tf[0][0] == ['tensorflow', 'tensorflow-cpu']
    assert 'accelerator' not in sagemaker.metadata

    html = str(build_dir / 'html')
    pages = build_notebooks.publish(html, ['pytorch', 'tensorflow'],
                                    book_dir=str(small_book))
    assert pages == {f'{chapter}/one.html': ['pytorch', 'tensorflow'],
                     f'{chapter}/two.html': ['pytorch'],
                     'index.html': ['pytorch', 'tensorflow']}
    page = open(os.path.join(html, chapter, 'one.html')).read()
    for href in re.findall(r'href="(\.\./notebooks/[^"]+)"', page):
        assert os.path.exists(os.path.join(html, chapter, href)), href
    assert page.count('download="one-pytorch.ipynb"') == 1
    assert 'download="one-tensorflow-sagemaker.ipynb"' in page
    assert 'colab.research.google.com' not in page
    assert page.count('class="d2l-tabs__tab"') == 3  # one per tab of config
    front = open(os.path.join(html, 'index.html')).read()
    assert 'notebooks/d2l-hpo-notebooks-tensorflow.zip' in front
    # A second run replaces the links instead of adding more.
    configure(small_book, github_repo='pytorch, owner/repo-pytorch')
    build_notebooks.publish(html, ['pytorch', 'tensorflow'],
                            book_dir=str(small_book))
    page = open(os.path.join(html, chapter, 'one.html')).read()
    assert page.count('download="one-pytorch.ipynb"') == 1
    assert ('https://colab.research.google.com/github/owner/repo-pytorch/'
            f'blob/master/{chapter}/one.ipynb') in page
    assert page.count('colab.research.google.com') == 1  # pytorch only


def test_published_d2l_is_installed_from_its_requirement(small_book):
    chapter = os.path.basename(CHAPTER)
    configure(small_book, d2l='git+https://github.com/o/r@v0.1.0')
    build_notebooks.build(str(small_book), tabs=['pytorch'])
    nb = nbformat.read(str(small_book / '_build' / 'colab' / chapter
                           / 'one.ipynb'), 4)
    call = cell_literals(nb.cells[1].source)['call']
    assert call == {'d2l_requirement': 'git+https://github.com/o/r@v0.1.0'}
    assert not (small_book / '_build' / 'notebooks' / 'wheel').exists()


def test_d2lbook_still_builds_when_github_repo_is_set(small_book, tmp_path):
    """With github_repo set for publishing, d2lbook's own Colab code (which
    `d2lbook build html` runs) still finds what it needs in config.ini."""
    from d2lbook import colab, config as d2lbook_config, sagemaker
    configure(small_book, github_repo='pytorch, o/a\ntensorflow, o/b\n'
              'mxnet, o/c')
    cwd = os.getcwd()
    os.chdir(str(small_book))
    try:
        config = d2lbook_config.Config(tab='pytorch')
        notebooks = colab.Colab(config)
        assert notebooks.valid()
        notebooks.generate_notebooks('_build/eval', str(tmp_path / 'c'),
                                     'pytorch')
        assert not sagemaker.Sagemaker(config).valid()
    finally:
        os.chdir(cwd)


def test_table_names_the_versions_the_stack_test_preinstalls():
    """The table's note on the other versions tested is what
    tests/test_colab_notebooks.py preinstalls."""
    import test_colab_notebooks
    note = open(os.path.join(ROOT, build_notebooks.PACKAGE_TABLE)).read()
    note = note[:note.index('# needed by')]
    named = dict(re.findall(r'\b(numpy|pandas|matplotlib) (\d+\.\d+\.\d+)',
                            note))
    stack = dict(pin.split('==')
                 for pin in test_colab_notebooks.PREINSTALLED_STACK)
    assert named and all(stack[n] == v for n, v in named.items()), named


# ------------------------------------------- install_packages, pip faked

class FakeRuntime:
    """Distributions of a pretend runtime and a pip that changes them:
    stands in for importlib.metadata and subprocess.run."""

    def __init__(self, installed, fail_first=False):
        self.installed = dict(installed)
        self.calls, self.constraints = [], []
        self.fail_first = fail_first
        self.wheel_hash = None

    def distributions(self):
        runtime = self

        class Dist:
            def __init__(self, name, version):
                self.metadata = {'Name': name}
                self.version = version

            def read_text(self, name):
                if runtime.wheel_hash and name == 'direct_url.json':
                    return json.dumps({'archive_info': {
                        'hash': runtime.wheel_hash}})
                return None
        return [Dist(n, v) for n, v in self.installed.items()]

    def distribution(self, name):
        from importlib import metadata
        for dist in self.distributions():
            if dist.metadata['Name'] == name:
                return dist
        raise metadata.PackageNotFoundError(name)

    def packages_distributions(self):
        return {'numpy': ['numpy'], 'd2l': ['d2l-hpo']}

    def run(self, command, **kwargs):
        import subprocess
        args = [a for a in command[3:] if a not in (
            '--disable-pip-version-check', '--no-input', '--quiet')]
        self.calls.append(args)
        if '-c' in args:
            self.constraints.append(open(args[args.index('-c') + 1]).read())
        ok = not (self.fail_first and len(self.calls) == 1)
        if ok and args[0] == 'install':
            if '-c' in args:
                pins = dict(pin.split('==') for pin in open(
                    args[args.index('-c') + 1]).read().split())
                for arg in args[args.index('-c') + 2:]:
                    name = Requirement(arg).name
                    self.installed[name] = pins.get(name, '2.9.9')
            else:  # the wheel
                path = [a for a in args if a.endswith('.whl')][0]
                self.installed['d2l-hpo'] = '0.1.0'
                self.wheel_hash = 'sha256=' + hashlib.sha256(
                    open(path, 'rb').read()).hexdigest()
        return subprocess.CompletedProcess(command, 0 if ok else 1,
                                           'ERROR: x' if not ok else '', '')


@pytest.fixture
def fake(monkeypatch):
    from importlib import metadata
    import subprocess

    def make(installed, **kwargs):
        runtime = FakeRuntime(installed, **kwargs)
        monkeypatch.setattr(metadata, 'distributions', runtime.distributions)
        monkeypatch.setattr(metadata, 'distribution', runtime.distribution)
        monkeypatch.setattr(metadata, 'packages_distributions',
                            runtime.packages_distributions)
        monkeypatch.setattr(subprocess, 'run', runtime.run)
        # A fresh kernel has not loaded the book's library; this test process
        # may have (other tests import d2l), which the cell would report.
        for name in [n for n in sys.modules if n.partition('.')[0] == 'd2l']:
            monkeypatch.delitem(sys.modules, name)
        return runtime
    return make


NUMPY = [(['numpy'], '>=1.26,<3', '2.4.6')]
WHEEL = base64.b64encode(b'not really a wheel').decode()


def test_install_runs_no_pip_when_all_is_there(fake, capsys):
    runtime = fake({'numpy': '2.0.2', 'd2l-hpo': '0.1.0'})
    runtime.wheel_hash = 'sha256=' + hashlib.sha256(
        b'not really a wheel').hexdigest()
    build_notebooks.install_packages(NUMPY, 'numpy==2.4.6', wheel=WHEEL,
                                     wheel_name='d2l_hpo-0.1.0-py3-none-any'
                                     '.whl')
    assert runtime.calls == []
    assert 'Kept as installed: numpy 2.0.2' in capsys.readouterr().out


def test_install_falls_back_to_the_supported_ranges(fake, capsys):
    runtime = fake({'scipy': '1.0'}, fail_first=True)
    build_notebooks.install_packages(NUMPY, 'numpy==2.4.6 xgboost==3.2.0',
                                     wheel=WHEEL, wheel_name='d2l.whl')
    first, second, wheel = runtime.calls
    assert first[-1] == second[-1] == 'numpy<3,>=1.26'
    # First the tested versions of what is missing, then none of them.
    assert [c.split() for c in runtime.constraints] == [
        ['numpy==2.4.6', 'xgboost==3.2.0'], []]
    assert wheel[-1].endswith('d2l.whl') and '--force-reinstall' in wheel
    out = capsys.readouterr().out
    assert 'do not fit' in out
    assert 'Installed: d2l-hpo 0.1.0, numpy 2.9.9' not in out
    assert 'numpy 2.9.9' in out  # pip's choice, not the tested version


def test_install_asks_for_a_restart_when_a_loaded_package_changed(
        fake, monkeypatch):
    fake({'numpy': '1.25.0'})  # outside the range: replaced
    monkeypatch.setitem(sys.modules, 'numpy', sys.modules.get('numpy', sys))
    with pytest.raises(RuntimeError, match='Restart the kernel'):
        build_notebooks.install_packages(NUMPY, '', wheel=WHEEL,
                                         wheel_name='d2l.whl')
