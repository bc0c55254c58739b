"""Instructor tooling: the command line (:mod:`~course_lib.tools.cli`) and what only it runs.

Here: the ``train`` command's cards (``cards``), devices (``devices``) and run into a folder
(``train``); building the data (``data_build``, ``demo_folder``); building, running and
grading the notebooks (``notebooks``, ``runner``, ``grading``, ``nbgrader_execute``,
``kernel_watch``). The rule, tested in tests/test_import_graph.py: no module of course_lib
outside this package imports it (the entry point ``course_lib/__main__.py`` aside), so a
notebook never reaches it; what the lessons and the tools share (the training runs,
:mod:`course_lib.runs`, and their checkpoints) is library code.
"""
