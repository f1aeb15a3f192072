"""Log in with the admin's email and password; log out."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.admin.blueprint import bp
from app.admin.forms import load_form
from app.admin.navigation import local_page
from app.admin.session import sign_in, sign_out, signed_in_admin
from app.auth import attempts
from app.auth.schemas import LoginSchema
from app.db import get_session
from app.exceptions import Invalid

WRONG_CREDENTIALS = "Wrong email or password."


@bp.route("/login", methods=["GET", "POST"])
def login():
    db = get_session()
    after_login = local_page(request.values.get("next"), url_for("admin.dashboard"))
    if request.method == "GET":
        if signed_in_admin(db) is not None:
            return redirect(after_login, 303)
        return render_template("admin/login.html", email="", next=request.args.get("next"))
    try:
        credentials = load_form(LoginSchema(), request.form, "Invalid login")
    except Invalid as exc:
        return _login_page(errors=exc.details, status=400)
    user = attempts.log_in(db, credentials["email"], credentials["password"], attempts.CONSOLE)
    if user is None:
        return _login_page(error=WRONG_CREDENTIALS, status=401)
    sign_in(db, user)
    return redirect(after_login, 303)


def _login_page(status: int, **messages):
    page = render_template(
        "admin/login.html", email=request.form.get("email", ""), next=request.form.get("next"), **messages
    )
    return page, status


@bp.post("/logout")
def logout():
    sign_out(get_session(), g.admin)
    flash("You are logged out.", "success")
    return redirect(url_for("admin.login"), 303)
