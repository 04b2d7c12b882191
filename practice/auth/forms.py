"""Forms for signing in, two-step verification, one's own account, and (admin) staff accounts and settings.

Fields carry only what the browser needs (autocomplete, inputmode); the rules live in auth.service.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, PasswordField, RadioField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from practice.auth.models import ROLE_LABELS
from practice.core.cancellation import KIND_LABELS
from practice.core.money import as_dollars
from practice.core.provider_ids import format_tin

# Long passphrases are welcome; the service enforces PASSWORD_MAX_LENGTH, this only bounds the request.
_PASSWORD_BOUND = Length(max=4096)
_CODE_ATTRS = {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "maxlength": 8,
               "spellcheck": "false"}


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)],
                       render_kw={"autocomplete": "username", "spellcheck": "false", "autocapitalize": "none"})
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), _PASSWORD_BOUND],
                             render_kw={"autocomplete": "current-password"})


class CodeForm(FlaskForm):
    code = StringField("6-digit code", validators=[DataRequired("Enter the 6-digit code from your app."),
                                                   Length(max=12)], render_kw=_CODE_ATTRS)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[InputRequired("Enter your current password."),
                                                                      _PASSWORD_BOUND],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField("New password", validators=[InputRequired("Enter a new password."), _PASSWORD_BOUND],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password, again",
                            validators=[InputRequired("Enter the new password a second time."),
                                        EqualTo("new_password", "The two new passwords don't match.")],
                            render_kw={"autocomplete": "new-password"})


class ConfirmPasswordForm(FlaskForm):
    """Re-enter the password before a sensitive change to one's own account."""

    current_password = PasswordField("Your password", validators=[InputRequired("Enter your password."),
                                                                  _PASSWORD_BOUND],
                                     render_kw={"autocomplete": "current-password"})


def _optional_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):  # "" (no profile) or anything a browser would not send
        return None


class _UserFields(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter a name."), Length(max=120)],
                       render_kw={"autocomplete": "off"})
    role = SelectField("Role", choices=[SelectChoice(value, label) for value, label in ROLE_LABELS.items()])
    counselor_id = SelectField("Counselor profile", coerce=_optional_int, validate_choice=True)

    def set_counselors(self, counselors) -> None:
        self.counselor_id.choices = [SelectChoice("", "None (not a counselor account)")] + [
            SelectChoice(str(c.id), c.name) for c in counselors]


class UserCreateForm(_UserFields):
    email = EmailField("Email", validators=[DataRequired("Enter an email address."), Length(max=254)],
                       render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"})
    password = PasswordField("Initial password", validators=[InputRequired("Enter an initial password."),
                                                             _PASSWORD_BOUND],
                             render_kw={"autocomplete": "new-password"})


class UserEditForm(_UserFields):
    active = BooleanField("Account is active (can sign in)")
    new_password = PasswordField("New password", validators=[Optional(), _PASSWORD_BOUND],
                                 render_kw={"autocomplete": "new-password"})


class SettingsForm(FlaskForm):
    practice_name = StringField("Practice name", validators=[DataRequired("Enter the practice's name."),
                                                              Length(max=120)],
                                render_kw={"autocomplete": "organization"})
    require_two_factor = BooleanField("Require two-step verification for all staff")
    # Who the practice is on a good-faith estimate. Optional here; the service checks what is given.
    npi = StringField("Practice NPI", validators=[Optional(), Length(max=20)],
                      render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"})
    tin = StringField("Tax identification number (EIN)", validators=[Optional(), Length(max=20)],
                      render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"})
    address = TextAreaField("Practice address", validators=[Optional(), Length(max=300)],
                            render_kw={"autocomplete": "street-address", "rows": 3})
    # Cancelling later than CANCELLATION_NOTICE_HOURS ahead. Named apart from the settings' columns, so that a
    # form sent without them leaves the policy as it is; any value is taken and the service says what is wrong.
    late_policy = RadioField("When a client cancels late", validate_choice=False,
                             choices=[SelectChoice(kind, label) for kind, label in KIND_LABELS.items()])
    late_fee = StringField("Fixed fee in dollars", validators=[Length(max=20)],
                           render_kw={"inputmode": "decimal", "autocomplete": "off"})
    late_percent = StringField("Percentage kept", validators=[Length(max=10)],
                               render_kw={"inputmode": "numeric", "autocomplete": "off"})

    @classmethod
    def for_settings(cls, settings) -> SettingsForm:
        """Filled from the request when submitted, else from the saved settings (the TIN as people write it)."""
        form = cls(obj=settings)
        if not form.is_submitted():
            form.tin.data = format_tin(settings.tin or "")
            form.late_policy.data = settings.late_cancel_policy
            form.late_fee.data = as_dollars(settings.late_cancel_fee or 0)
            form.late_percent.data = str(settings.late_cancel_percent)
        return form
