"""The app's real-or-generated quiz: answers, leaderboard, per-prompt fool rate.

The authors' page stored ``quiz_answers(username, question, image_id,
user_answer, is_correct, timestamp)`` with a top-10 leaderboard; the prompt of
the generated image is kept too, so the fraction of answers fooled by each
prompt's images is a human realism score.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from galaxysd_core.review.base import StoreBase, frame
from galaxysd_core.review.checks import check_positive
from galaxysd_core.review.errors import ReviewValueError
from galaxysd_core.review.models import QuizAnswer

_LIMITS = {"username": 64, "question": 200, "image_id": 200, "user_answer": 200}


class QuizMixin(StoreBase):
    """Quiz answers in the review database (no sign-in: a quiz name is just a label)."""

    def record_quiz_answer(
        self,
        username: str,
        *,
        question: str,
        image_id: str,
        user_answer: str,
        is_correct: bool,
        prompt: str | None = None,
    ) -> int:
        """Store one quiz answer.

        Parameters
        ----------
        username : str
            The player's name (1-64 characters).
        question : str
            Identifies the round of four images.
        image_id : str
            The image the player picked.
        user_answer : str
            What the player answered (e.g. ``"generated"``).
        is_correct : bool
            Whether the pick was the generated image.
        prompt : str, optional
            The generated image's prompt (for :meth:`quiz_fool_rates`).

        Returns
        -------
        int
            The answer's id.
        """
        values = {
            "username": username,
            "question": question,
            "image_id": image_id,
            "user_answer": user_answer,
        }
        for key, value in values.items():
            if not isinstance(value, str) or not 1 <= len(value) <= _LIMITS[key]:
                raise ReviewValueError(f"quiz {key} {value!r} must be 1-{_LIMITS[key]} characters")
        if not isinstance(is_correct, bool):
            raise ReviewValueError(f"quiz is_correct must be True or False, got {is_correct!r}")
        if prompt is not None and not isinstance(prompt, str):
            raise ReviewValueError(f"quiz prompt must be text, got {type(prompt).__name__}")
        row = {**values, "is_correct": is_correct, "prompt": prompt, "timestamp": self._now()}
        with self._write() as conn:
            return conn.execute(
                sa.insert(QuizAnswer).values(row).returning(QuizAnswer.id)
            ).scalar_one()

    def quiz_leaderboard(self, limit: int = 10) -> pd.DataFrame:
        """The best players: ``username, answers, correct, accuracy``, most correct first."""
        check_positive(limit, "limit")
        correct = sa.func.sum(sa.case((QuizAnswer.is_correct, 1), else_=0))
        query = (
            sa.select(
                QuizAnswer.username,
                sa.func.count().label("answers"),
                correct.label("correct"),
            )
            .group_by(QuizAnswer.username)
            .order_by(correct.desc(), sa.func.count(), QuizAnswer.username)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            table = frame(conn.execute(query))
        table["accuracy"] = table["correct"] / table["answers"] if len(table) else []
        return table.astype({"answers": "int64", "correct": "int64", "accuracy": "float64"})

    def quiz_fool_rates(self) -> pd.DataFrame:
        """Per prompt: ``prompt, answers, fool_rate`` (share of wrong answers), worst first."""
        wrong = sa.func.sum(sa.case((QuizAnswer.is_correct, 0), else_=1))
        query = (
            sa.select(QuizAnswer.prompt, sa.func.count().label("answers"), wrong.label("wrong"))
            .where(QuizAnswer.prompt.is_not(None))
            .group_by(QuizAnswer.prompt)
        )
        with self.engine.connect() as conn:
            table = frame(conn.execute(query))
        table["fool_rate"] = (table["wrong"] / table["answers"]).astype("float64")
        table = table.drop(columns="wrong").astype({"answers": "int64"})
        return table.sort_values(["fool_rate", "answers"], ascending=False, ignore_index=True)
