"""Forms of the booking pages. They read input; the rules (licensing, format, notice, a free slot) live in
service.py and come back as BookingInvalid, whose field names `ERROR_FIELDS` maps onto these fields."""
from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, HiddenField, RadioField, SelectField, StringField, TelField,
                     TextAreaField)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from practice.counselors.models import Service
from practice.counselors.vocabulary import US_STATES

NOT_SURE = "not_sure"

# The service's error names (as in the API) -> the field of DetailsForm that shows them.
ERROR_FIELDS = {
    "client.name": "name",
    "client.email": "email",
    "client.phone": "phone",
    "client.state": "state",
    "partner": "partner_name",
    "partner.name": "partner_name",
    "partner.email": "partner_email",
    "accept_policies": "accept_policies",
}


class DetailsForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(message="Enter your name."), Length(max=120)])
    email = EmailField("Your email", validators=[
        DataRequired(message="Enter your email address, so we can send your confirmation."),
        Email(message="Enter an email address like name@example.com."), Length(max=254)])
    phone = TelField("Phone (optional)", validators=[Optional(), Length(max=40)])
    state = SelectField("State you live in", choices={"": "Choose your state", **US_STATES},
                        validators=[DataRequired(message="Choose the state you live in.")])
    partner_name = StringField("Your partner's name", validators=[
        DataRequired(message="Enter your partner's name."), Length(max=120)])
    partner_email = EmailField("Your partner's email", validators=[
        DataRequired(message="Enter your partner's email address, so they get their own private link."),
        Email(message="Enter an email address like name@example.com."), Length(max=254)])
    accept_policies = BooleanField("I have read and accept the practice's policies", validators=[
        DataRequired(message="Please read and accept the practice's policies to book.")])
    # Paid sessions only. "Not sure yet" is the default: the question is asked, never forced. A self-pay client
    # is given a good-faith estimate; one who isn't sure is told on the manage page how to ask for one.
    insurance = RadioField("How will you pay for your sessions?", choices={
        "self_pay": "I'll pay for my sessions myself",
        "insurance": "I'll use my health insurance",
        NOT_SURE: "I'm not sure yet",
    }, default=NOT_SURE)
    # Typed as text (a date input where the browser has one): a person's own words get a clear message.
    date_of_birth = StringField("Your date of birth", validators=[Optional()],
                                render_kw={"type": "date", "autocomplete": "bday"})

    @classmethod
    def for_service(cls, service: Service, **kwargs) -> DetailsForm:
        form = cls(**kwargs)
        if service.format != "couple":
            del form.partner_name
            del form.partner_email
        if service.price == 0:  # nothing to pay, so nothing to estimate
            del form.insurance
            del form.date_of_birth
        return form

    def validate_date_of_birth(self, field) -> None:
        # Whether it is needed and plausible is the booking service's rule; here only whether it is a date, and
        # only when it will be used.
        field.parsed = None
        if self.insurance.data != "self_pay":
            return
        try:
            field.parsed = date.fromisoformat(field.data.strip()) if field.data and field.data.strip() else None
        except ValueError:
            raise ValidationError("Enter your date of birth as year-month-day, for example 1988-04-23.") from None

    @property
    def uses_insurance(self) -> bool | None:
        """The answer as the booking keeps it: True, False (self-pay) or None (not answered, or a free session)."""
        if "insurance" not in self._fields:
            return None
        return {"self_pay": False, "insurance": True}.get(self.insurance.data)

    @property
    def birth_date(self) -> date | None:
        if "date_of_birth" not in self._fields:
            return None
        return getattr(self.date_of_birth, "parsed", None)

    @property
    def is_couple(self) -> bool:
        return "partner_name" in self._fields


class ResendForm(FlaskForm):
    email = EmailField("Your email", validators=[
        DataRequired(message="Enter the email address you booked with."),
        Email(message="Enter an email address like name@example.com."), Length(max=254)])


class CancelForm(FlaskForm):
    token = HiddenField()
    reason = TextAreaField("Anything you'd like to tell the practice? (optional)",
                           validators=[Optional(), Length(max=500)])
    confirm = BooleanField("Yes, cancel this booking", validators=[
        DataRequired(message="Tick the box to confirm you want to cancel.")])


class RescheduleForm(FlaskForm):
    token = HiddenField()
    expected_start = HiddenField()
    # The choices are the times on the page; which of them is still free is the service's question.
    start = StringField("New time", validators=[DataRequired(message="Choose a new time.")])
