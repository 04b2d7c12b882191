"""Forms of the staff booking page. Each carries the booking's `ics_sequence` as it was when the page was
opened (`sequence`), so a change made meanwhile refuses the form (booking.staff) instead of being overwritten."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

REFUND_CHOICES = {
    "policy": "By the cancellation policy, as if the client had cancelled",
    "full": "In full: the practice is cancelling",
    "amount": "A different amount (an override, with its reason)",
}


def _sequence(form: str) -> IntegerField:
    # An id of its own per form: the page shows several forms, and ids must be unique on it.
    return IntegerField(widget=HiddenInput(), id=f"{form}-sequence",
                        validators=[InputRequired("Open the booking again and retry.")])


class StaffRescheduleForm(FlaskForm):
    sequence = _sequence("reschedule")
    # The open times are listed by the page (grouped by day); the service checks whichever start comes back.
    slot = StringField("An open time", validators=[Optional(), Length(max=40)])
    day = StringField("Or type a date", validators=[Optional(), Length(max=40)],
                      render_kw={"type": "date", "autocomplete": "off"})
    time = StringField("and a time", validators=[Optional(), Length(max=40)],
                       render_kw={"type": "time", "autocomplete": "off"})


class StaffCancelForm(FlaskForm):
    sequence = _sequence("cancel")
    reason = TextAreaField("Why is it being cancelled?", validators=[
        DataRequired("Say why the booking is being cancelled."), Length(max=500)], render_kw={"rows": 3})
    refund = RadioField("Refund", choices=[SelectChoice(k, v) for k, v in REFUND_CHOICES.items()], default="policy",
                        validators=[DataRequired("Choose how much to refund.")])
    amount = StringField("Amount to refund, in dollars (for a different amount; 0 refunds nothing)",
                         validators=[Optional(), Length(max=20)],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    override_reason = TextAreaField("Why this amount", validators=[Length(max=400)], render_kw={"rows": 2})


class AttendanceForm(FlaskForm):
    sequence = _sequence("attendance")
    outcome = RadioField("What happened", choices=[SelectChoice("completed", "The session took place"),
                                                   SelectChoice("no_show", "The client didn't come (no-show)")],
                         validators=[DataRequired("Choose whether the session took place.")])


class ResendLinksForm(FlaskForm):
    confirm = HiddenField(default="1")
