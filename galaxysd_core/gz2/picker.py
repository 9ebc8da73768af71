"""Valid tag choices along the GZ2 decision tree (the Compose page's picker).

The picker walks the GZ2 decision tree (Willett et al. 2013, Table 2) so only
valid combinations can be built: arm winding and count only under "spiral",
bulge shape only under "edge-on", roundness only under "smooth". T06 ("anything
odd?") is implied by picking a T08 odd feature.
"""

from __future__ import annotations

from collections.abc import Mapping

from galaxysd_core.gz2.tree import ANSWER_BY_TAG, TASKS, answers_of

#: Where the walk goes when a task is left open ("any"): the next task that
#: every answer of it shares, or the task after the branch it would open.
_NEXT_IF_OPEN: dict[str, str | None] = {
    "t01": "t08",
    "t02": "t08",
    "t03": "t04",
    "t04": "t05",
    "t05": "t08",
    "t07": "t08",
    "t09": "t08",
    "t10": "t11",
    "t11": "t05",
    "t08": None,
}
#: Answers the picker hides: no phrase in prompts, or not a galaxy (Sec. 3).
_HIDDEN = {"star_or_artifact", "odd", "not_odd"}


def picker_tasks(choices: Mapping[str, str | None]) -> list[str]:
    """The tasks to show, in tree order, given the answers chosen so far.

    Parameters
    ----------
    choices : mapping of task id -> tag or None
        The current answer of each task (None or missing: left open).

    Returns
    -------
    list of str
        Task ids from ``t01`` along the chosen path; ``t06`` is skipped (its
        "odd" answer is implied by a ``t08`` pick).
    """
    shown, task = [], "t01"
    while task is not None and task not in shown:
        shown.append(task)
        tag = choices.get(task)
        if tag is None:
            task = _NEXT_IF_OPEN[task]
        else:
            nxt = ANSWER_BY_TAG[tag].next_task
            task = "t08" if nxt == "t06" else nxt
    return shown


def task_options(task: str) -> list[str]:
    """The tags a user can pick for a task (hidden answers removed)."""
    return [a.tag for a in answers_of(task) if a.tag not in _HIDDEN]


def task_question(task: str) -> str:
    """The volunteers' question of a task."""
    return TASKS[task].question


def chosen_tags(choices: Mapping[str, str | None]) -> list[str]:
    """The picked tags along the shown path (answers of hidden branches dropped)."""
    return [t for task in picker_tasks(choices) if (t := choices.get(task))]
