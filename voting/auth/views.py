"""Home page, staff sign-in and sign-out, password change."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..errors import Invalid
from ..extensions import db, limiter
from ..forms import PageForm
from ..models import Meeting
from ..services import staff as staff_service
from .access import ANY_STAFF, public, roles
from .principal import StaffUser

bp = Blueprint("auth", __name__)


class LoginForm(PageForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=60)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class PasswordForm(PageForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password (at least 12 characters)", validators=[DataRequired()])
    repeat = PasswordField("New password again", validators=[DataRequired()])


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.get("/")
@public
def home() -> Any:
    """The front page: the meetings, and where each person goes next."""
    meetings = db.session.scalars(select(Meeting).order_by(Meeting.starts_at.desc())).all()
    return render_template("home.html", meetings=meetings)


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Any:
    """Staff sign in with username and password."""
    form = LoginForm()
    if form.validate_on_submit():
        account = staff_service.authenticate(form.username.data or "", form.password.data or "")
        if account is None:
            flash("That username and password do not match an active staff account.", "error")
            return render_template("auth/login.html", form=form), 401
        login_user(StaffUser(account))
        if account.must_change_password:
            flash("You signed in with a one-time password. Choose your own password now.", "info")
            return redirect(url_for("auth.password"))
        target = request.args.get("next", "")
        if not target.startswith("/") or target.startswith("//"):
            target = url_for("auth.home")
        return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@public
def logout() -> Any:
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles(*ANY_STAFF)
@login_required
def password() -> Any:
    """Change the signed-in staff member's password."""
    form = PasswordForm()
    if form.validate_on_submit():
        account = current_user.account
        try:
            staff_service.change_password(account, form.current.data or "", form.new.data or "", form.repeat.data or "")
        except Invalid as err:
            flash(err.message, "error")
            return render_template("auth/password.html", form=form), 422
        login_user(StaffUser(account))  # the session id carries the new hash
        flash("Your password is changed.", "success")
        return redirect(url_for("auth.home"))
    return render_template("auth/password.html", form=form)
