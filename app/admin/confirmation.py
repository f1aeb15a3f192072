"""Irreversible or weighty actions (delete, complete, archive) with a confirmation page first: GET asks,
POST acts."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request


def after_confirmation(
    *,
    title: str,
    consequence: str,
    button: str,
    cancel: str,
    act: Callable[[], None],
    done: str,
    then: str,
):
    """GET: the question, its consequence, the button and a way back (`cancel`). POST: `act()`, then
    the message `done` on the page `then`. A refusal `act` raises is shown on the error page."""
    if request.method == "GET":
        return render_template(
            "admin/confirm.html",
            title=title,
            consequence=consequence,
            action=request.full_path.rstrip("?"),
            button=button,
            cancel=cancel,
        )
    act()
    flash(done, "success")
    return redirect(then, 303)
