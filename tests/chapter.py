"""Paths shared by the tests that look at the chapter and the built book."""
import glob
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAPTER = os.path.join(ROOT, 'chapter_hyperparameter_optimization')
SECTIONS = sorted(glob.glob(os.path.join(CHAPTER, '*.md')))
# Sections with code, that is, notebooks that are evaluated.
NOTEBOOKS = [p for p in SECTIONS if '```{.python .input}' in open(p).read()]


def section_name(path):
    return os.path.splitext(os.path.basename(path))[0]


def run_make(target, log):
    """Run `make target` in the CPU profile, as a reader would, keep its
    output in `log`, and return it; fail with its tail if make fails."""
    env = dict(os.environ, D2L_HPO_PROFILE='cpu')
    env.pop('MPLBACKEND', None)  # the notebooks choose the inline backend
    result = subprocess.run(['make', target], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, 'w') as f:
        f.write(result.stdout + result.stderr)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return result.stdout + result.stderr
