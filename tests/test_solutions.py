"""The instructors' book (solutions/, `make solutions`).

A module fixture runs `make solutions` once: it evaluates every solution
notebook (PyTorch, CPU profile) and builds _build/solutions/html. The tests
check that every exercise has a worked solution that quotes it as the
chapter states it, that the notebooks ran without errors and their
self-checks passed, and that no solution text reaches what students get:
the HTML book and the notebooks to download (built earlier in the run by
tests/test_book_build.py; see conftest.py for the order).
"""
import glob
import json
import os
import re
import zipfile

import pytest

from chapter import CHAPTER, ROOT, run_make, section_name

SOLUTIONS = os.path.join(ROOT, 'solutions', 'chapter_hyperparameter_optimization')
BUILD = os.path.join(ROOT, '_build', 'solutions')
WITH_EXERCISES = sorted(
    section_name(p) for p in glob.glob(os.path.join(CHAPTER, '*.md'))
    if '\n## Exercises\n' in open(p).read())


def read(path):
    with open(path) as f:
        return f.read()


def exercise_items(section):
    """The chapter's exercises of `section`, whitespace collapsed."""
    text = read(os.path.join(CHAPTER, f'{section}.md'))
    items = re.split(r'^\d+\. ', text.split('\n## Exercises\n', 1)[1],
                     flags=re.M)[1:]
    return [' '.join(item.split()) for item in items]


def solution_parts(section):
    """(quoted exercise, solution text) per '## Exercise n' of a solution."""
    text = read(os.path.join(SOLUTIONS, f'{section}.md'))
    parts = re.split(r'^## Exercise (\d+)\n', text, flags=re.M)
    numbers = [int(n) for n in parts[1::2]]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    result = []
    for body in parts[2::2]:
        quote = [line[1:].strip() for line in body.splitlines()
                 if line.startswith('>')]
        rest = '\n'.join(line for line in body.splitlines()
                         if not line.startswith('>'))
        result.append((' '.join(' '.join(quote).split()), rest))
    return result


def test_every_section_with_exercises_has_solutions():
    assert len(WITH_EXERCISES) == 7
    written = {section_name(p) for p in glob.glob(os.path.join(SOLUTIONS, '*.md'))}
    assert set(WITH_EXERCISES) <= written


@pytest.mark.parametrize('section', WITH_EXERCISES)
def test_one_solution_per_exercise_quoting_it(section):
    items, parts = exercise_items(section), solution_parts(section)
    assert len(parts) == len(items)
    for number, (item, (quote, answer)) in enumerate(zip(items, parts), 1):
        # The quote drops the list number; the chapter's text follows it.
        assert quote == item, f'exercise {number} of {section} is quoted ' \
                              'differently from the chapter'
        prose = re.sub(r'```.*?```', '', answer, flags=re.S)
        assert len(prose.split()) >= 25, \
            f'exercise {number} of {section}: the answer needs prose'


def solution_sentences(section):
    """Sentences of the solutions' own prose (not the quoted exercises, not
    code), long enough to be unique to them."""
    sentences = []
    for _, answer in solution_parts(section):
        prose = re.sub(r'```.*?```', '', answer, flags=re.S)
        for sentence in re.split(r'(?<=[.?!])\s+', ' '.join(prose.split())):
            words = re.findall(r'[A-Za-z]{3,}', sentence)
            if len(words) >= 8:
                sentences.append(' '.join(words[:8]))
    return sentences


@pytest.fixture(scope='module')
def solutions_book():
    return run_make('solutions', os.path.join(ROOT, '_build',
                                              'make_solutions.log'))


def notebook_outputs(section):
    path = os.path.join(BUILD, 'eval', 'chapter_hyperparameter_optimization',
                        f'{section}.ipynb')
    notebook = json.loads(read(path))
    return [out for cell in notebook['cells'] if cell['cell_type'] == 'code'
            for out in cell.get('outputs', [])]


@pytest.mark.parametrize('section', WITH_EXERCISES)
def test_solution_notebook_ran_without_errors(solutions_book, section):
    outputs = notebook_outputs(section)
    assert outputs, f'{section}: no outputs'
    assert not [o for o in outputs if o['output_type'] == 'error']
    text = ''.join(''.join(o.get('text', '')) for o in outputs)
    for passed, total in re.findall(r'(\d+) of (\d+) cases pass', text):
        assert passed == total, f'{section}: a self-check fails'


def test_solutions_call_every_self_check(solutions_book):
    from d2l.exercises import CHECKS
    for section, number in CHECKS:
        text = ''.join(''.join(o.get('text', ''))
                       for o in notebook_outputs(section))
        assert f'Exercise {number} of {section} (' in text


@pytest.mark.parametrize('section', WITH_EXERCISES)
def test_solution_page_exists(solutions_book, section):
    page = os.path.join(BUILD, 'html', 'chapter_hyperparameter_optimization',
                        f'{section}.html')
    html = read(page)
    assert 'Exercise 1' in html and 'highlight-python' in html
    assert os.path.exists(os.path.join(
        BUILD, 'notebooks', 'chapter_hyperparameter_optimization',
        f'{section}.ipynb'))


def student_texts():
    """The text of every page of the HTML book and every notebook that
    students download."""
    build = os.path.join(ROOT, '_build')
    paths = glob.glob(os.path.join(build, 'html', '**', '*.html'),
                      recursive=True)
    for pattern in ('colab*', 'sagemaker*', os.path.join('html', 'notebooks')):
        for folder in glob.glob(os.path.join(build, pattern)):
            paths += glob.glob(os.path.join(folder, '**', '*.ipynb'),
                               recursive=True)
    texts = [read(p) for p in paths]
    for archive in glob.glob(os.path.join(build, 'notebooks', '*.zip')):
        with zipfile.ZipFile(archive) as z:
            texts += [z.read(n).decode() for n in z.namelist()
                      if n.endswith('.ipynb')]
    return texts


def test_no_solution_text_reaches_students(solutions_book):
    html = os.path.join(ROOT, '_build', 'html', 'index.html')
    if not os.path.exists(html):
        pytest.skip('the students\' book is not built '
                    '(tests/test_book_build.py builds it first)')
    texts = student_texts()
    assert len(texts) > 20
    assert not [t for t in texts if 'from chapter_code import' in t]
    words = [' '.join(re.findall(r'[A-Za-z]{3,}', t)) for t in texts]
    sentences = [s for section in WITH_EXERCISES
                 for s in solution_sentences(section)]
    assert len(sentences) > 100
    leaked = [s for s in sentences if any(s in text for text in words)]
    assert not leaked, leaked[:5]
