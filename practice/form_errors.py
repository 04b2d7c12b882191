"""Putting a service's errors on a Flask-WTF form: shared by every domain's views, so it imports none of them."""
from __future__ import annotations

from typing import Mapping


def show_errors(form, errors: Mapping[str, list[str]], fields: Mapping[str, str] | None = None) -> None:
    """Put a service's field errors (name -> messages) on the form's fields, renamed by `fields` where the
    service's names differ from the form's; a message without a field goes above the form."""
    for name, messages in errors.items():
        field_name = (fields or {}).get(name, name)
        if field_name in form:
            target = form[field_name]
            target.errors = [*target.errors, *messages]
        else:
            form.form_errors.extend(messages)
