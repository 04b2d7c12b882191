"""Photo uploads: only real JPEG, PNG or WebP images get in, and only as fresh files under names we choose."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from practice.audit.models import AuditEvent
from practice.counselors import photos
from practice.extensions import db


def image_bytes(fmt: str = "PNG", size=(320, 240), mode="RGB", **save) -> bytes:
    out = io.BytesIO()
    image = Image.new(mode, size, (40, 110, 120) if mode == "RGB" else None)
    image.putpixel((0, 0), (250, 250, 250) if mode == "RGB" else image.getpixel((0, 0)))
    image.save(out, format=fmt, **save)
    return out.getvalue()


def noisy_png(size=(200, 200)) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, format="PNG")
    return out.getvalue()


def exif_with_secrets() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Industries"  # Make
    exif[0x0131] = "secret-editor 1.0"  # Software
    return exif.tobytes()


def stored_files(app) -> list[Path]:
    directory = Path(app.config["UPLOAD_DIR"]) / "photos"
    return sorted(p for p in directory.iterdir() if not p.name.startswith(".")) if directory.exists() else []


def upload(client, data: bytes, filename: str = "me.png", slug: str = "maya-okafor"):
    return client.post(f"/staff/counselors/{slug}/photo", data={"photo": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


@pytest.fixture
def signed_in(sign_in, counselor_user):
    return sign_in(counselor_user)


def test_valid_png_is_accepted_and_stored_under_a_random_name(app, client, signed_in, counselor):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address: 12 Secret Lane")
    response = upload(client, image_bytes("PNG", pnginfo=info, exif=exif_with_secrets()), "../../evil name.png")
    assert response.status_code == 302 and response.location.endswith("/edit#photo")
    db.session.expire_all()
    [stored] = stored_files(app)
    assert photos.is_photo_name(stored.name) and stored.name == counselor.photo
    assert "evil" not in stored.name
    data = stored.read_bytes()
    assert b"Secret Lane" not in data and b"SpyCam" not in data
    with Image.open(stored) as image:
        assert image.format == "JPEG" and image.size == (320, 240)
        assert not image.getexif() and "Comment" not in image.info
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "counselor.photo_update"))
    assert event.detail == {"changed": ["photo"]}


def test_jpeg_exif_is_stripped_and_the_picture_is_turned_upright(app, client, signed_in, counselor):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Industries"
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    upload(client, image_bytes("JPEG", size=(300, 100), exif=exif.tobytes()), "phone.jpg")
    [stored] = stored_files(app)
    assert b"SpyCam" not in stored.read_bytes()
    with Image.open(stored) as image:
        assert image.size == (100, 300)
        assert not image.getexif()


def test_large_pictures_are_scaled_down_and_transparency_kept_as_png(app, client, signed_in, counselor):
    upload(client, image_bytes("PNG", size=(2400, 1200), mode="RGBA"), "big.png")
    [stored] = stored_files(app)
    with Image.open(stored) as image:
        assert image.format == "PNG" and image.size == (photos.STORED_MAX_SIDE, photos.STORED_MAX_SIDE // 2)
    assert stored.suffix == ".png"


def test_webp_is_accepted(app, client, signed_in, counselor):
    assert upload(client, image_bytes("WEBP"), "me.webp").status_code == 302
    assert len(stored_files(app)) == 1


NOT_AN_IMAGE = "isn&#39;t a JPEG, PNG or WebP"


@pytest.mark.parametrize("data, filename, message", [
    pytest.param(b"Dear diary, this is plain text and not a picture.\n", "me.png", NOT_AN_IMAGE, id="text-as-png"),
    pytest.param(image_bytes("GIF"), "me.gif", NOT_AN_IMAGE, id="gif"),
    pytest.param(image_bytes("BMP"), "me.png", NOT_AN_IMAGE, id="bmp-as-png"),
    pytest.param(b"GIF89a<script>alert(document.cookie)</script>", "me.png", NOT_AN_IMAGE, id="gif-script-polyglot"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 200, "me.png", "damaged", id="png-header-garbage"),
    pytest.param(image_bytes("PNG")[:60], "me.png", "damaged", id="truncated-png"),
    pytest.param(image_bytes("JPEG")[:200], "me.jpg", "damaged", id="truncated-jpeg"),
    pytest.param(image_bytes("PNG", size=(9000, 10)), "wide.png", "more than we can take", id="too-wide"),
    pytest.param(b"", "empty.png", "Choose a photo", id="empty"),
])
def test_files_that_are_not_usable_photos_are_refused(app, client, signed_in, counselor, data, filename, message):
    response = upload(client, data, filename)
    assert response.status_code == 422
    assert message in response.data.decode()
    assert stored_files(app) == []
    db.session.expire_all()
    assert counselor.photo is None


def test_oversize_photo_is_refused(app, client, signed_in, counselor):
    app.config["PHOTO_MAX_BYTES"] = 20 * 1024
    response = upload(client, noisy_png())
    assert response.status_code == 422
    assert "larger than 20 KB" in response.data.decode()
    assert stored_files(app) == []


def test_anything_appended_to_an_image_is_dropped(app, client, signed_in, counselor):
    payload = b"<html><script>alert('polyglot')</script></html>"
    assert upload(client, image_bytes("PNG") + payload).status_code == 302
    [stored] = stored_files(app)
    assert b"polyglot" not in stored.read_bytes()


def test_photo_is_served_publicly_as_an_image_and_nothing_else(app, client, signed_in, counselor):
    upload(client, image_bytes("PNG"))
    db.session.expire_all()
    response = client.get(f"/photos/{counselor.photo}")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    response.close()
    page = client.get("/counselors/maya-okafor").data.decode()
    assert f'src="/photos/{counselor.photo}"' in page and 'alt="Photo of Maya Okafor"' in page


@pytest.mark.parametrize("name", ["../instance/secret_key", "..%2f..%2fapp.py", "me.png", "ABCDEF.jpg",
                                  "0123456789abcdef0123456789abcdef.gif", "0123456789abcdef0123456789abcdef.jpg"])
def test_only_names_we_made_are_served(client, app, name):
    assert client.get(f"/photos/{name}").status_code == 404


def test_new_photo_replaces_the_old_file_and_removing_it_deletes_it(app, client, signed_in, counselor):
    upload(client, image_bytes("PNG"))
    [first] = stored_files(app)
    upload(client, image_bytes("JPEG"), "new.jpg")
    [second] = stored_files(app)
    assert second != first and not first.exists()
    response = client.post("/staff/counselors/maya-okafor/photo/delete")
    assert response.status_code == 302
    assert stored_files(app) == []
    db.session.expire_all()
    assert counselor.photo is None
    assert 'avatar-initials' in client.get("/counselors/maya-okafor").data.decode()


def test_request_over_the_upload_limit_is_refused_before_reading(app, client, signed_in, counselor):
    app.config["MAX_CONTENT_LENGTH"] = 50 * 1024
    assert upload(client, noisy_png((300, 300))).status_code == 413
    assert stored_files(app) == []
