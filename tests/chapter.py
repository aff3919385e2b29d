"""Paths shared by the tests that look at the chapter and the built book."""
import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAPTER = os.path.join(ROOT, 'chapter_hyperparameter_optimization')
SECTIONS = sorted(glob.glob(os.path.join(CHAPTER, '*.md')))
# Sections with code, that is, notebooks that are evaluated.
NOTEBOOKS = [p for p in SECTIONS if '```{.python .input}' in open(p).read()]


def section_name(path):
    return os.path.splitext(os.path.basename(path))[0]
