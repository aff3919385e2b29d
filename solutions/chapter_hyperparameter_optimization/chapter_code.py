"""Definitions of the chapter's sections, for the solutions.

A solution often needs a function that a section defines in a cell of its
own but does not save to the library (``second_rung``, ``toy_objective``,
...). ``define`` reads it from the section's source, the PyTorch tab, and
runs just that definition, so that the solutions never hold a second copy.

    from chapter_code import define
    define('asha-scratch', 'second_rung', namespace=globals())
"""
import ast
import os
import re



def _chapter_folder():
    """The chapter's sources: in the repository that holds this file (the
    book's evaluation runs a copy of it in _build/solutions/eval)."""
    folder = os.path.dirname(os.path.abspath(__file__))
    while os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
        if os.path.exists(os.path.join(folder, 'd2l', '__init__.py')):
            return os.path.join(folder, 'chapter_hyperparameter_optimization')
    raise FileNotFoundError(f'{__file__} is not inside the book repository')


CHAPTER = _chapter_folder()
CELL = re.compile(r'^```\{\.python \.input\}\n(.*?)^```', re.M | re.S)
TAB = re.compile(r'^%%tab\s+(.+)$', re.M)


def pytorch_cells(section, folder=CHAPTER):
    """The code of the section's cells that the PyTorch tab runs."""
    path = os.path.join(folder, f'{section}.md')
    if not os.path.exists(path):
        raise FileNotFoundError(f'no section {section!r}: {path} is missing')
    with open(path) as f:
        cells = CELL.findall(f.read())
    code = []
    for cell in cells:
        tab = TAB.match(cell)
        tabs = [t.strip() for t in tab.group(1).split(',')] if tab else ['all']
        if 'all' in tabs or 'pytorch' in tabs:
            code.append(TAB.sub('', cell, count=1) if tab else cell)
    return [c for c in code if not c.lstrip().startswith(('%', '!'))]


def _defined_names(node):
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    return set()


def define(section, *names, namespace, folder=CHAPTER):
    """Run the top-level statements of `section` (PyTorch tab) that define
    `names` in `namespace`, in the order in which the section has them. The
    last definition of a name wins, as when the notebook runs. (The tests
    read the solutions' own definitions with folder= this file's folder.)"""
    found = {}
    for cell in pytorch_cells(section, folder):
        tree = ast.parse(cell)
        for node in tree.body:
            for name in _defined_names(node) & set(names):
                found[name] = ast.get_source_segment(cell, node)
    missing = [n for n in names if n not in found]
    if missing:
        raise NameError(f'{section} defines no {", ".join(missing)}')
    for name in names:
        exec(compile(found[name], f'<{section}: {name}>', 'exec'), namespace)
