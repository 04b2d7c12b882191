"""The public directory and profiles; counselors' and admins' profile editing.

Each handler reads its input, checks access (the route's declaration, then ownership), calls the service, and
renders or redirects. Rules and writes live in service.py; reads in queries.py.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user

from practice.access import public, staff
from practice.counselors import photos, queries, service
from practice.counselors.forms import LicenseForm, PhotoForm, ProfileForm, ServiceForm
from practice.counselors.models import Counselor
from practice.counselors.service import CounselorInvalid
from practice.counselors.vocabulary import US_STATES
from practice.form_errors import show_errors

bp = Blueprint("counselors", __name__)

PHOTO_MAX_AGE = 365 * 24 * 3600  # a stored photo never changes: a new upload gets a new name


# --- public ---------------------------------------------------------------------------------------------

@bp.get("/counselors")
@public
def directory():
    filters, filter_errors = queries.parse_filters(request.args)
    counselors = queries.directory(filters)
    return render_template("counselors/directory.html", counselors=counselors, filters=filters,
                           filter_errors=filter_errors, filter_vocabularies=queries.FILTERS)


@bp.get("/counselors/<slug>")
@public
def profile(slug: str):
    counselor = queries.public_counselor(slug) or abort(404)
    return render_template("counselors/profile.html", c=counselor)


@bp.get("/photos/<name>")
@public
def photo(name: str):
    if not photos.is_photo_name(name):  # only names we made; no paths, no client file names
        abort(404)
    response = send_from_directory(photos.photos_dir(), name, mimetype=photos.mimetype_for(name),
                                   max_age=PHOTO_MAX_AGE)
    # Even if a browser were talked into treating it as a document, nothing in it could run.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- staff: profiles ------------------------------------------------------------------------------------

@bp.get("/staff/counselors")
@staff("admin", "frontdesk")
def staff_list():
    return render_template("counselors/staff_list.html", counselors=queries.all_counselors())


@bp.route("/staff/counselors/new", methods=["GET", "POST"])
@staff("admin")
def new():
    form = ProfileForm.for_counselor(None, may_change_active=True)
    if form.validate_on_submit():
        try:
            counselor = service.create_counselor(form.to_input(), actor=_actor())
        except CounselorInvalid as exc:
            _show_errors(form, exc.errors)
        else:
            flash(f"Profile for {counselor.name} created. Add licenses and services next.", "success")
            return redirect(url_for(".edit", slug=counselor.slug))
    return render_template("counselors/new.html", form=form), _status(form)


@bp.route("/staff/counselors/<slug>/edit", methods=["GET", "POST"])
@staff("admin", "counselor")
def edit(slug: str):
    counselor = _editable(slug)
    form = ProfileForm.for_counselor(counselor, may_change_active=current_user.role == "admin")
    if form.validate_on_submit():
        try:
            changed = service.update_profile(counselor, form.to_input(), actor=_actor())
        except CounselorInvalid as exc:
            _show_errors(form, exc.errors)
        else:
            flash("Profile saved." if changed else "Nothing had changed, so nothing was saved.", "success")
            return redirect(url_for(".edit", slug=slug))
    return _edit_page(counselor, profile_form=form)


@bp.post("/staff/counselors/<slug>/licenses")
@staff("admin", "counselor")
def add_license(slug: str):
    counselor = _editable(slug)
    form = LicenseForm(prefix="license")
    if form.validate_on_submit():
        try:
            changed = service.put_license(counselor, state=form.state.data, number=form.number.data,
                                          kind=form.kind.data or "", actor=_actor())
        except CounselorInvalid as exc:
            _show_errors(form, exc.errors)
        else:
            state = US_STATES[form.state.data]
            flash(f"License for {state} saved." if changed else f"The license for {state} was already up to date.",
                  "success")
            return redirect(url_for(".edit", slug=slug, _anchor="licenses"))
    return _edit_page(counselor, license_form=form)


@bp.post("/staff/counselors/<slug>/licenses/<int:license_id>/delete")
@staff("admin", "counselor")
def remove_license(slug: str, license_id: int):
    counselor = _editable(slug)
    removed = service.remove_license(counselor, license_id, actor=_actor()) or abort(404)
    flash(f"License for {US_STATES.get(removed.state, removed.state)} removed.", "success")
    return redirect(url_for(".edit", slug=slug, _anchor="licenses"))


@bp.post("/staff/counselors/<slug>/photo")
@staff("admin", "counselor")
def upload_photo(slug: str):
    counselor = _editable(slug)
    form = PhotoForm()
    if form.validate_on_submit():
        try:
            service.set_photo(counselor, form.photo.data.stream, actor=_actor())
        except CounselorInvalid as exc:
            _show_errors(form, exc.errors)
        else:
            flash("Photo updated.", "success")
            return redirect(url_for(".edit", slug=slug, _anchor="photo"))
    return _edit_page(counselor, photo_form=form)


@bp.post("/staff/counselors/<slug>/photo/delete")
@staff("admin", "counselor")
def remove_photo(slug: str):
    counselor = _editable(slug)
    if service.remove_photo(counselor, actor=_actor()):
        flash("Photo removed. The profile shows initials instead.", "success")
    return redirect(url_for(".edit", slug=slug, _anchor="photo"))


# --- staff: services ------------------------------------------------------------------------------------

@bp.get("/staff/counselors/<slug>/services")
@staff("admin", "counselor")
def services(slug: str):
    counselor = _editable(slug)
    return render_template("counselors/services.html", c=counselor)


@bp.route("/staff/counselors/<slug>/services/new", methods=["GET", "POST"])
@staff("admin", "counselor")
def new_service(slug: str):
    counselor = _editable(slug)
    form = ServiceForm.for_service(counselor, None)
    if form.validate_on_submit():
        try:
            created = service.create_service(counselor, form.to_input(), actor=_actor())
        except CounselorInvalid as exc:
            _show_errors(form, exc.errors)
        else:
            flash(f"“{created.name}” added.", "success")
            return redirect(url_for(".services", slug=slug))
    return render_template("counselors/service_form.html", c=counselor, form=form, existing=None), _status(form)


@bp.route("/staff/counselors/<slug>/services/<service_slug>/edit", methods=["GET", "POST"])
@staff("admin", "counselor")
def edit_service(slug: str, service_slug: str):
    counselor = _editable(slug)
    existing = queries.service_of(counselor, service_slug) or abort(404)
    form = ServiceForm.for_service(counselor, existing)
    if form.validate_on_submit():
        try:
            changed = service.update_service(existing, form.to_input(), actor=_actor())
        except CounselorInvalid as exc:
            _show_errors(form, exc.errors)
        else:
            flash(f"“{existing.name}” saved." if changed else "Nothing had changed, so nothing was saved.",
                  "success")
            return redirect(url_for(".services", slug=slug))
    return render_template("counselors/service_form.html", c=counselor, form=form,
                           existing=existing), _status(form)


# --- helpers --------------------------------------------------------------------------------------------

def _actor():
    return current_user._get_current_object()


def _editable(slug: str) -> Counselor:
    """The counselor behind a staff URL, if the signed-in user may edit it: 404 unknown, 403 not theirs."""
    counselor = queries.counselor_by_slug(slug) or abort(404)
    if not current_user.may_edit_counselor(counselor):
        abort(403)
    return counselor


def _show_errors(form, errors: dict[str, list[str]]) -> None:
    """Put a service's field errors on the form's fields; anything else above the form."""
    show_errors(form, errors)


def _status(*forms) -> int:
    """422 when a submitted form is shown again with errors, so clients and tests can tell."""
    return 422 if any(f.errors for f in forms if f is not None) else 200


def _edit_page(counselor: Counselor, *, profile_form=None, license_form=None, photo_form=None):
    profile_form = profile_form or ProfileForm.for_counselor(
        counselor, may_change_active=current_user.role == "admin", formdata=None)
    license_form = license_form or LicenseForm(prefix="license", formdata=None)
    photo_form = photo_form or PhotoForm(formdata=None)
    return render_template(
        "counselors/edit.html", c=counselor, form=profile_form, license_form=license_form, photo_form=photo_form,
        max_photo_size=photos.size_text(photos.max_bytes()),
    ), _status(profile_form, license_form, photo_form)
