"""Staff pages for a booking's money: its payment, its refunds (who asked, why, where they stand), and a refund
in full or in part, with a reason. Front desk and admins only; every refund is audited by the service."""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from practice import clock
from practice.access import staff
from practice.booking.models import Booking
from practice.core.money import AmountInvalid, as_dollars, parse_amount
from practice.extensions import db
from practice.payments import refunds
from practice.payments.models import Payment
from practice.web.filters import money

bp = Blueprint("payments_staff", __name__)


class RefundForm(FlaskForm):
    how_much = RadioField("How much to refund", choices=[SelectChoice("all", "Everything left"),
                                                         SelectChoice("part", "Part of it")], default="all")
    amount = StringField("Amount in dollars (only for part of it)", validators=[Length(max=20)],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reason = TextAreaField("Why", validators=[DataRequired("Say why this refund is being made."), Length(max=500)],
                           render_kw={"rows": 3})
    # One per form shown: sending the same form twice (a double click, a reload) makes one refund.
    request_key = HiddenField(default=lambda: uuid.uuid4().hex, validators=[Length(max=64)])


@bp.route("/staff/bookings/<booking_id>/refund", methods=["GET", "POST"])
@staff("admin", "frontdesk")
def refund(booking_id: str):
    booking = _booking(booking_id)
    payment = Payment.of_booking(booking.id)
    form = RefundForm()
    status = 200
    if payment is None and form.is_submitted():
        status = 409  # nothing was paid: the page says so, and there is no form to send
    elif payment is not None and form.validate_on_submit():
        try:
            amount = None if form.how_much.data == "all" else _amount(form.amount.data)
            made = refunds.staff_refund(booking.id, amount=amount, reason=form.reason.data,
                                        actor=current_user._get_current_object(), now=clock.now(),
                                        request_key=form.request_key.data)
        except refunds.RefundRefused as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            flash(f"Refund of {money(made.amount, payment.currency)} saved. It is sent to Stripe at once; its "
                  "state is shown below.", "success")
            return redirect(url_for("payments_staff.refund", booking_id=booking.id))
    if any(field.errors for field in form):
        status = 422
    return render_template("payments/staff_refund.html", b=booking, payment=payment, form=form,
                           left_in_dollars=as_dollars(payment.refundable) if payment else "0"), status


def _booking(booking_id: str) -> Booking:
    try:
        found = db.session.get(Booking, uuid.UUID(booking_id))
    except ValueError:
        found = None
    return found or abort(404)


def _amount(text: str | None) -> int:
    try:
        return parse_amount(text)
    except AmountInvalid as exc:
        raise refunds.RefundRefused(str(exc)) from None
