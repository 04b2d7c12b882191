"""Forms for a counselor's availability. They read input; the rules (overlaps, limits, dates) live in editing.py."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask_wtf import FlaskForm
from wtforms import (BooleanField, FieldList, Form, FormField, IntegerField, SelectChoice, SelectField, StringField,
                     URLField)
from wtforms.fields import DateField, TimeField
from wtforms.validators import InputRequired, Optional

from practice.scheduling import editing
from practice.scheduling.models import SchedulingPolicy

TIME_FORMATS = ["%H:%M", "%H:%M:%S"]  # browsers send seconds only when the input's step asks for them
BAD_TIME = "Enter a time such as 09:00."
BAD_DATE = "Enter a date such as 2026-11-02."
HOURS_ROWS_MIN = 2  # an empty day offers two rows: a morning and an afternoon are common
OVERRIDE_ROWS = 3
NOTICE_UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}


class RangeForm(Form):
    """One row of a day: a start and an end. Both empty means "no range here"."""

    start = TimeField("From", format=TIME_FORMATS, validators=[Optional()], invalid_value_message=BAD_TIME)
    end = TimeField("To", format=TIME_FORMATS, validators=[Optional()], invalid_value_message=BAD_TIME)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and (self.start.data is None) != (self.end.data is None):
            missing = self.end if self.end.data is None else self.start
            missing.errors = [*missing.errors, "Enter both times, or clear both to remove this range."]
            return False
        return ok

    @property
    def range(self) -> tuple[time, time] | None:
        if self.start.data is None or self.end.data is None:
            return None
        return self.start.data, self.end.data


def _rows(field: FieldList) -> list[tuple[time, time]]:
    """The filled rows of a list of RangeForms; empty rows are ignored."""
    return [entry.form.range for entry in field if entry.form.range is not None]


class WeeklyHoursForm(FlaskForm):
    """Up to six ranges for each weekday; one FieldList per day, named after it (monday ... sunday)."""

    @classmethod
    def for_hours(cls, hours: dict[int, list[tuple[time, time]]], *, submitted: bool) -> WeeklyHoursForm:
        if submitted:
            return cls(prefix="hours")
        form = cls(prefix="hours", formdata=None, data={
            name: [{"start": start, "end": end} for start, end in hours.get(weekday, [])]
            for weekday, name in enumerate(editing.WEEKDAYS)
        })
        for name in editing.WEEKDAYS:  # always a free row to fill in, so more ranges need no script
            rows = form[name]
            while len(rows) < editing.MAX_RANGES_PER_DAY and (len(rows) < HOURS_ROWS_MIN
                                                             or rows[-1].form.range is not None):
                rows.append_entry()
        return form

    def days(self):
        """(weekday name, its FieldList) Monday to Sunday, for the template."""
        return [(name, self[name]) for name in editing.WEEKDAYS]

    def ranges_by_weekday(self) -> dict[int, list[tuple[time, time]]]:
        return {weekday: _rows(self[name]) for weekday, name in enumerate(editing.WEEKDAYS)}


for _name in editing.WEEKDAYS:
    setattr(WeeklyHoursForm, _name, FieldList(FormField(RangeForm), min_entries=1,
                                              max_entries=editing.MAX_RANGES_PER_DAY))


class RulesForm(FlaskForm):
    notice = IntegerField("Minimum notice", validators=[InputRequired(message="Enter a number, or 0 for none.")])
    notice_unit = SelectField("Unit of notice", choices=[SelectChoice(unit) for unit in NOTICE_UNITS])
    horizon_days = IntegerField("How far ahead clients can book, in days",
                                validators=[InputRequired(message="Enter a number of days.")])
    slot_step_minutes = SelectField("Sessions can start", coerce=int, choices=[
        SelectChoice(str(step), "On the hour" if step == 60 else f"Every {step} minutes")
        for step in editing.STEP_CHOICES
    ])
    max_sessions_per_day = IntegerField("Most sessions in one day", validators=[Optional()])

    @classmethod
    def for_policy(cls, policy: SchedulingPolicy, *, submitted: bool) -> RulesForm:
        if submitted:
            return cls(prefix="rules")
        amount, unit = notice_in_units(policy.notice_minutes)
        return cls(prefix="rules", formdata=None, data={
            "notice": amount, "notice_unit": unit, "horizon_days": policy.horizon_days,
            "slot_step_minutes": policy.slot_step_minutes, "max_sessions_per_day": policy.max_sessions_per_day,
        })

    def to_input(self) -> dict:
        return {"notice_minutes": self.notice.data * NOTICE_UNITS[self.notice_unit.data],
                "horizon_days": self.horizon_days.data, "slot_step_minutes": self.slot_step_minutes.data,
                "max_sessions_per_day": self.max_sessions_per_day.data}

    # editing.update_policy's error keys -> the field to show them on
    error_fields = {"notice": "notice"}


def notice_in_units(minutes: int) -> tuple[int, str]:
    """Minutes as people say them: 90 minutes, 24 hours, 3 days."""
    if minutes % 60:
        return minutes, "minutes"
    if minutes >= 2 * 24 * 60 and minutes % (24 * 60) == 0:
        return minutes // (24 * 60), "days"
    return minutes // 60, "hours"


class OverrideForm(FlaskForm):
    day = DateField("Date", validators=[InputRequired(message="Choose a date.")], invalid_value_message=BAD_DATE)
    day_off = BooleanField("Not available this day")
    ranges = FieldList(FormField(RangeForm), min_entries=OVERRIDE_ROWS, max_entries=OVERRIDE_ROWS)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.day_off.data and _rows(self.ranges):
            self.day_off.errors = [*self.day_off.errors,
                                   "Either enter hours or mark the day as not available, not both."]
            return False
        return ok

    def to_input(self) -> tuple[date, list[tuple[time, time]] | None]:
        return self.day.data, None if self.day_off.data else _rows(self.ranges)

    error_fields = {"day": "day"}  # "ranges" errors are shown above the rows


class TimeOffForm(FlaskForm):
    start_date = DateField("First day", validators=[InputRequired(message="Choose the first day.")],
                           invalid_value_message=BAD_DATE)
    start_time = TimeField("From", format=TIME_FORMATS, validators=[Optional()], invalid_value_message=BAD_TIME)
    end_date = DateField("Last day", validators=[InputRequired(message="Choose the last day.")],
                         invalid_value_message=BAD_DATE)
    end_time = TimeField("Until", format=TIME_FORMATS, validators=[Optional()], invalid_value_message=BAD_TIME)
    note = StringField("Note for staff (optional)", validators=[Optional()])

    def local_range(self) -> tuple[datetime, datetime]:
        """Wall-clock start and end. No start time: from the start of the first day; no end time: to the end
        of the last day, so two dates alone mean whole days off."""
        start = datetime.combine(self.start_date.data, self.start_time.data or time(0))
        if self.end_time.data is None:
            end = datetime.combine(self.end_date.data + timedelta(days=1), time(0))
        else:
            end = datetime.combine(self.end_date.data, self.end_time.data)
        return start, end

    error_fields = {"start": "start_date", "end": "end_date", "note": "note"}


class FeedForm(FlaskForm):
    url = URLField("Private address (iCal / ICS link)",
                   validators=[InputRequired(message="Paste the calendar's private address.")],
                   render_kw={"autocomplete": "off", "spellcheck": "false"})
    label = StringField("Name shown here", validators=[Optional()], render_kw={"placeholder": "My calendar"})

    error_fields = {"url": "url", "label": "label"}
