"""Shared by the compose tests (a module, not a conftest: other posting tests have theirs)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from accounts.models import Role
from platforms.services import set_channel_people
from tests.factories import make_channel, make_member


def jpeg_with_gps(*, size=(40, 30), orientation: int = 1) -> bytes:
    """A phone-like JPEG: GPS position, camera make and an orientation tag."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (45.0, 30.0, 15.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (73.0, 34.0, 2.25)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def gps_of(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


def upload(data: bytes, name: str = "IMG_0001.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


class Newsroom:
    """An agency's officer with three channels they may use, and one they may not."""

    def __init__(self, agency):
        self.agency = agency
        self.admin = make_member(agency, role=Role.ADMINISTRATOR, username="chief")
        self.officer = make_member(agency, username="olive")
        self.x = make_channel(agency, platform="x", name="Metro on X", administrator=self.admin)
        self.mastodon = make_channel(agency, platform="mastodon", name="Metro on Mastodon",
                                     administrator=self.admin,
                                     settings={"max_characters": 100,
                                               "characters_reserved_per_url": 23})  # fmt: skip
        self.bluesky = make_channel(agency, platform="bluesky", name="Metro on Bluesky",
                                    administrator=self.admin)  # fmt: skip
        self.closed = make_channel(agency, platform="x", name="Chief's own X",
                                   administrator=self.admin)  # fmt: skip
        for channel in (self.x, self.mastodon, self.bluesky):
            set_channel_people(administrator=self.admin, channel=channel,
                               memberships=[self.officer])  # fmt: skip


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def newsroom(agency, media):
    return Newsroom(agency)
