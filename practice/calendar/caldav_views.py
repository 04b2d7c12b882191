"""Connecting a counselor's own CalDAV calendar from their calendar page, and disconnecting it."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from practice.access import staff
from practice.calendar import caldav_sync
from practice.calendar.feed_views import own_calendar

bp = Blueprint("caldav", __name__)


class CalDAVForm(FlaskForm):
    url = StringField("Calendar address (CalDAV)", validators=[InputRequired("Enter the calendar's address."),
                                                                Length(max=500)])
    username = StringField("Username", validators=[InputRequired("Enter your username."), Length(max=200)])
    password = PasswordField("Password or app password",
                             validators=[InputRequired("Enter the password."), Length(max=500)])


@bp.post("/staff/counselors/<slug>/calendar/caldav")
@staff("admin", "counselor")
def connect(slug: str):
    counselor = own_calendar(slug)
    form = CalDAVForm(prefix="caldav")
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(message, "error")
    else:
        try:
            caldav_sync.connect(counselor, url=form.url.data, username=form.username.data,
                                password=form.password.data, actor=current_user._get_current_object())
        except caldav_sync.CalDAVInvalid as exc:
            flash(f"The calendar was not connected. {exc}", "error")
        else:
            flash("Calendar connected. Your sessions will appear in it within a minute or two.", "success")
    return redirect(url_for("scheduling.calendar", slug=slug, _anchor="caldav"), 303)


@bp.post("/staff/counselors/<slug>/calendar/caldav/remove")
@staff("admin", "counselor")
def disconnect(slug: str):
    counselor = own_calendar(slug)
    if caldav_sync.disconnect(counselor, actor=current_user._get_current_object()):
        flash("Calendar disconnected and its password forgotten. Sessions already in it stay there.", "success")
    return redirect(url_for("scheduling.calendar", slug=slug, _anchor="caldav"), 303)
