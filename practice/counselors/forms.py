"""Forms for counselor profiles, licenses, photos and services. Rules live in service.py; these read input."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from practice.counselors import service
from practice.counselors.models import Counselor, Service
from practice.counselors.vocabulary import (CREDENTIALS, FORMATS, LANGUAGES, MODALITIES, SPECIALTIES, TIMEZONES,
                                            US_STATES)


class CheckboxGroup(SelectMultipleField):
    """Several choices as checkboxes (rendered in a fieldset by macros.checkboxes)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _choices(vocabulary: dict[str, str]) -> dict[str, str]:
    """WTForms' {value: label} form of a vocabulary (a copy: forms may add to it)."""
    return dict(vocabulary)


class ProfileForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(message="Enter the counselor's name."),
                                                Length(max=120)])
    pronouns = StringField("Pronouns", validators=[Optional(), Length(max=40)])
    credentials = StringField("Credentials", validators=[Optional(), Length(max=80)])
    headline = StringField("Headline", validators=[Optional(), Length(max=200)])
    bio = TextAreaField("About", validators=[Optional(), Length(max=5000)])
    timezone = SelectField("Time zone", choices={tz: tz.replace("_", " ") for tz in TIMEZONES})
    formats = CheckboxGroup("Works with", choices={"individual": "Individuals", "couple": "Couples"})
    specialties = CheckboxGroup("Specialties", choices=_choices(SPECIALTIES))
    modalities = CheckboxGroup("Approaches", choices=_choices(MODALITIES))
    languages = CheckboxGroup("Languages", choices=_choices(LANGUAGES))
    active = BooleanField("Listed in the public directory")
    npi = StringField("NPI", validators=[Optional(), Length(max=20)],
                      render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"})

    @classmethod
    def for_counselor(cls, counselor: Counselor | None, *, may_change_active: bool, **kwargs) -> ProfileForm:
        """The form filled from the request when submitted, else from the profile (kwargs go to the form)."""
        if counselor is None:
            # New profiles start unlisted, so a half-finished one is never public.
            form = cls(data={"timezone": TIMEZONES[0], "formats": list(FORMATS), "languages": ["en"],
                             "active": False}, **kwargs)
        else:
            form = cls(obj=counselor, **kwargs)  # formats, specialties ... are properties of the model
            if counselor.timezone not in TIMEZONES:  # set elsewhere: still shown, so saving doesn't change it
                form.timezone.choices = {counselor.timezone: counselor.timezone, **form.timezone.choices}
        if not may_change_active:
            del form.active
        return form

    def to_input(self) -> service.ProfileInput:
        return service.ProfileInput(
            name=self.name.data or "", pronouns=self.pronouns.data or "", credentials=self.credentials.data or "",
            headline=self.headline.data or "", bio=self.bio.data or "", timezone=self.timezone.data or "",
            formats=self.formats.data or [], specialties=self.specialties.data or [],
            modalities=self.modalities.data or [], languages=self.languages.data or [],
            active=self.active.data if "active" in self else None,
            npi=self.npi.data,  # None (not in the request) leaves it as it is
        )


class LicenseForm(FlaskForm):
    """Add a license, or correct the one for a state. Made with prefix="license" beside the profile form."""

    state = SelectField("State", choices={"": "Choose a state", **US_STATES},
                        validators=[InputRequired(message="Choose a state.")])
    number = StringField("License number", validators=[DataRequired(message="Enter the license number."),
                                                       Length(max=40)])
    kind = SelectField("License type", choices={"": "Same as credentials", **CREDENTIALS},
                       validators=[Optional()])

    def validate_state(self, field):
        if field.data not in US_STATES:
            raise ValidationError("Choose a state.")


class PhotoForm(FlaskForm):
    # Its own id: "photo" is the edit page's section anchor.
    photo = FileField("New photo", id="photo-file", validators=[FileRequired(message="Choose a photo to upload.")],
                      render_kw={"accept": "image/jpeg,image/png,image/webp"})


class ServiceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Enter a name for the service."), Length(max=120)])
    slug = StringField("Web address name", validators=[Optional(), Length(max=service.SLUG_MAX)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    format = SelectField("Format", choices=_choices(FORMATS))
    duration_minutes = IntegerField("Length in minutes", validators=[
        InputRequired(message="Enter the length in minutes."),
        NumberRange(*service.DURATION_RANGE, message="Choose a length from %(min)s to %(max)s minutes."),
    ])
    price = StringField("Price", validators=[InputRequired(message="Enter a price, or 0 for a free session.")],
                        render_kw={"inputmode": "decimal", "autocomplete": "off"})
    currency = SelectField("Currency", choices=_choices(service.SUPPORTED_CURRENCIES), default="USD")
    is_trial = BooleanField("This is a trial session (shown to new clients as a first step)")
    buffer_minutes = IntegerField("Break after the session, in minutes", default=0, validators=[
        InputRequired(message="Enter a break in minutes, or 0."),
        NumberRange(*service.BUFFER_RANGE, message="Choose a break from %(min)s to %(max)s minutes."),
    ])
    active = BooleanField("Offered (clients can book it)", default=True)
    service_code = StringField("Service code", validators=[Optional(), Length(max=10)],
                               render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"})
    expected_sessions = IntegerField("Sessions in a usual course", default=1, validators=[
        Optional(),
        NumberRange(*service.EXPECTED_SESSIONS_RANGE, message="Choose a number of sessions from %(min)s to %(max)s."),
    ])

    price_minor: int | None = None

    @classmethod
    def for_service(cls, counselor: Counselor, existing: Service | None) -> ServiceForm:
        if existing is None:
            return cls(data={"format": (counselor.formats or list(FORMATS))[0]})
        data = {name: getattr(existing, name) for name in ("name", "slug", "description", "format", "duration_minutes",
                                                           "currency", "is_trial", "buffer_minutes", "active",
                                                           "service_code", "expected_sessions")}
        form = cls(data={**data, "price": service.price_as_text(existing.price)})  # not obj=: it would win
        form.slug.render_kw = {"readonly": True}
        return form

    def validate_price(self, field):
        try:
            self.price_minor = service.parse_price(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def to_input(self) -> service.ServiceInput:
        return service.ServiceInput(
            name=self.name.data or "", slug=self.slug.data or "", description=self.description.data or "",
            format=self.format.data, duration_minutes=self.duration_minutes.data,
            price=self.price_minor if self.price_minor is not None else -1,
            currency=self.currency.data, is_trial=self.is_trial.data, buffer_minutes=self.buffer_minutes.data,
            active=self.active.data,
            # None (not in the request) leaves them as they are.
            service_code=self.service_code.data, expected_sessions=self.expected_sessions.data,
        )
