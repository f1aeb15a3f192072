"""Irreversible or weighty actions (delete, complete, archive) with a confirmation page first: GET asks,
POST acts."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request

from app.admin.forms import refusal
from app.exceptions import ServiceError


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
    the message `done` on the page `then`; a refusal `act` raises (ServiceError) is the message on the page
    `cancel` instead."""
    if request.method == "GET":
        return render_template(
            "admin/confirm.html",
            title=title,
            consequence=consequence,
            action=request.full_path.rstrip("?"),
            button=button,
            cancel=cancel,
        )
    try:
        act()
    except ServiceError as exc:
        flash(refusal(exc), "error")
        return redirect(cancel, 303)
    flash(done, "success")
    return redirect(then, 303)
