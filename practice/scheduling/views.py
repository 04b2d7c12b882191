"""Counselors' availability pages (hours, overrides, time off, week calendar, calendar feeds)."""
from flask import Blueprint

bp = Blueprint("scheduling", __name__)
