"""Deleting with a confirmation page first: GET asks, POST deletes."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request


def delete_after_confirmation(
    *,
    title: str,
    consequence: str,
    button: str,
    cancel: str,
    delete: Callable[[], None],
    deleted: str,
    then: str,
):
    """GET: the question, its consequence, the button and a way back (`cancel`). POST: `delete()`, then
    the message `deleted` on the page `then`."""
    if request.method == "GET":
        return render_template(
            "admin/confirm.html",
            title=title,
            consequence=consequence,
            action=request.path,
            button=button,
            cancel=cancel,
        )
    delete()
    flash(deleted, "success")
    return redirect(then, 303)
